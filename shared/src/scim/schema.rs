//! The SCIM schema definitions this server enforces (RFC 7643 §4 User and §4.3 Enterprise User).
//!
//! They are the single source for input validation, attribute-name canonicalisation and the Okta mapping.

/// URN of the core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// URN of the Enterprise User extension.
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// URN of the ListResponse message.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// URN of the SearchRequest message.
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// URN of the PatchOp message.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// SCIM attribute data types (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// When an attribute may be written (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// One attribute definition.
#[derive(Debug, Clone, Copy)]
pub struct AttributeDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// `uniqueness: server` (RFC 7643 §7).
    pub unique: bool,
    pub sub_attributes: &'static [AttributeDef],
    pub description: &'static str,
}

impl AttributeDef {
    const fn new(name: &'static str, ty: AttrType, description: &'static str) -> Self {
        Self {
            name,
            ty,
            multi_valued: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            unique: false,
            sub_attributes: &[],
            description,
        }
    }
    const fn string(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::String, description)
    }
    const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::Boolean, description)
    }
    const fn reference(name: &'static str, description: &'static str) -> Self {
        Self::new(name, AttrType::Reference, description)
    }
    const fn complex(name: &'static str, subs: &'static [AttributeDef], description: &'static str) -> Self {
        let mut def = Self::new(name, AttrType::Complex, description);
        def.sub_attributes = subs;
        def
    }
    const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    const fn read_only(mut self) -> Self {
        self.mutability = Mutability::ReadOnly;
        self
    }
    const fn write_only(mut self) -> Self {
        self.mutability = Mutability::WriteOnly;
        self.returned = Returned::Never;
        self
    }
    const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    const fn always(mut self) -> Self {
        self.returned = Returned::Always;
        self
    }

    /// The sub-attribute of a complex attribute, by case-insensitive name.
    pub fn sub_attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        self.sub_attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// One schema: its URN and attributes.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeDef],
}

impl SchemaDef {
    /// An attribute of this schema, by case-insensitive name.
    pub fn attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

const MULTI_VALUE_SUBS: &[AttributeDef] = &[
    AttributeDef::string("value", "The attribute's significant value."),
    AttributeDef::string("display", "A human-readable name, primarily used for display purposes."),
    AttributeDef::string("type", "A label indicating the attribute's function."),
    AttributeDef::boolean("primary", "Whether this is the preferred value."),
];

const REFERENCE_VALUE_SUBS: &[AttributeDef] = &[
    AttributeDef::reference("value", "The URL of the value."),
    AttributeDef::string("display", "A human-readable name, primarily used for display purposes."),
    AttributeDef::string("type", "A label indicating the attribute's function."),
    AttributeDef::boolean("primary", "Whether this is the preferred value."),
];

const NAME_SUBS: &[AttributeDef] = &[
    AttributeDef::string("formatted", "The full name, formatted for display."),
    AttributeDef::string("familyName", "The family name of the User."),
    AttributeDef::string("givenName", "The given name of the User."),
    AttributeDef::string("middleName", "The middle name(s) of the User."),
    AttributeDef::string("honorificPrefix", "The honorific prefix(es) of the User."),
    AttributeDef::string("honorificSuffix", "The honorific suffix(es) of the User."),
];

const ADDRESS_SUBS: &[AttributeDef] = &[
    AttributeDef::string("formatted", "The full mailing address, formatted for display."),
    AttributeDef::string("streetAddress", "The full street address component."),
    AttributeDef::string("locality", "The city or locality component."),
    AttributeDef::string("region", "The state or region component."),
    AttributeDef::string("postalCode", "The zip code or postal code component."),
    AttributeDef::string("country", "The country name component (ISO 3166-1 alpha-2)."),
    AttributeDef::string("type", "A label indicating the attribute's function."),
    AttributeDef::boolean("primary", "Whether this is the preferred mailing address."),
];

const GROUP_SUBS: &[AttributeDef] = &[
    AttributeDef::string("value", "The identifier of the User's group.").read_only(),
    AttributeDef::reference("$ref", "The URI of the corresponding Group resource.").read_only(),
    AttributeDef::string("display", "A human-readable name of the group.").read_only(),
    AttributeDef::string("type", "How the membership was derived.").read_only(),
];

const X509_SUBS: &[AttributeDef] = &[
    AttributeDef::new("value", AttrType::Binary, "The value of an X.509 certificate."),
    AttributeDef::string("display", "A human-readable name, primarily used for display purposes."),
    AttributeDef::string("type", "A label indicating the attribute's function."),
    AttributeDef::boolean("primary", "Whether this is the preferred value."),
];

const META_SUBS: &[AttributeDef] = &[
    AttributeDef::string("resourceType", "The name of the resource type.").case_exact().read_only(),
    AttributeDef::new("created", AttrType::DateTime, "When the resource was added.").read_only(),
    AttributeDef::new("lastModified", AttrType::DateTime, "When the resource was last changed.").read_only(),
    AttributeDef::reference("location", "The URI of the resource.").case_exact().read_only(),
    AttributeDef::string("version", "The version (weak ETag) of the resource.").case_exact().read_only(),
];

/// Attributes common to every resource (RFC 7643 §3.1), and `schemas` (§3), which filters may name.
pub const COMMON_ATTRIBUTES: &[AttributeDef] = &[
    AttributeDef::reference("schemas", "The schema URIs of the resource.").multi().read_only().always(),
    AttributeDef::string("id", "Unique identifier of the resource, issued by the service provider.")
        .case_exact()
        .read_only()
        .always()
        .unique(),
    AttributeDef::string("externalId", "Identifier of the resource as defined by the provisioning client.")
        .case_exact(),
    AttributeDef::complex("meta", META_SUBS, "Resource metadata.").read_only(),
];

/// The core User schema (RFC 7643 §4.1).
pub static USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: &[
        AttributeDef::string("userName", "Unique identifier for the User, used to sign in.").required().unique(),
        AttributeDef::complex("name", NAME_SUBS, "The components of the user's real name."),
        AttributeDef::string("displayName", "The name of the User, suitable for display.").required(),
        AttributeDef::string("nickName", "The casual way to address the user."),
        AttributeDef::reference("profileUrl", "A fully qualified URL pointing to a page representing the User."),
        AttributeDef::string("title", "The user's title, such as \"Vice President\"."),
        AttributeDef::string("userType", "The relationship between the organization and the user."),
        AttributeDef::string("preferredLanguage", "The User's preferred written or spoken language."),
        AttributeDef::string("locale", "The User's default location, e.g. en-US."),
        AttributeDef::string("timezone", "The User's time zone in IANA format, e.g. America/Los_Angeles."),
        AttributeDef::boolean("active", "The User's administrative status: false means deactivated."),
        AttributeDef::string("password", "The User's cleartext password; accepted and never stored.").write_only(),
        AttributeDef::complex("emails", MULTI_VALUE_SUBS, "Email addresses for the user.").multi(),
        AttributeDef::complex("phoneNumbers", MULTI_VALUE_SUBS, "Phone numbers for the User.").multi(),
        AttributeDef::complex("ims", MULTI_VALUE_SUBS, "Instant messaging addresses for the User.").multi(),
        AttributeDef::complex("photos", REFERENCE_VALUE_SUBS, "URLs of photos of the User.").multi(),
        AttributeDef::complex("addresses", ADDRESS_SUBS, "A physical mailing address for this User.").multi(),
        AttributeDef::complex("groups", GROUP_SUBS, "A list of groups to which the user belongs.").multi().read_only(),
        AttributeDef::complex("entitlements", MULTI_VALUE_SUBS, "A list of entitlements for the User.").multi(),
        AttributeDef::complex("roles", MULTI_VALUE_SUBS, "A list of roles for the User.").multi(),
        AttributeDef::complex("x509Certificates", X509_SUBS, "A list of certificates issued to the User.").multi(),
    ],
};

const MANAGER_SUBS: &[AttributeDef] = &[
    AttributeDef::string("value", "The id of the SCIM resource representing the User's manager."),
    AttributeDef::reference("$ref", "The URI of the SCIM resource representing the User's manager."),
    // RFC 7643 marks displayName read-only; Okta sends it and it is the only manager data Okta has.
    AttributeDef::string("displayName", "The displayName of the User's manager."),
];

/// The Enterprise User extension (RFC 7643 §4.3).
pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        AttributeDef::string("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
        AttributeDef::string("costCenter", "Identifies the name of a cost center."),
        AttributeDef::string("organization", "Identifies the name of an organization."),
        AttributeDef::string("division", "Identifies the name of a division."),
        AttributeDef::string("department", "Identifies the name of a department."),
        AttributeDef::complex("manager", MANAGER_SUBS, "The User's manager."),
    ],
};

/// Every extension schema a User may carry.
pub static USER_EXTENSIONS: &[&SchemaDef] = &[&ENTERPRISE_USER];

/// A known extension schema by case-insensitive URN.
pub fn user_extension(urn: &str) -> Option<&'static SchemaDef> {
    USER_EXTENSIONS.iter().copied().find(|s| s.id.eq_ignore_ascii_case(urn))
}

/// A core or common User attribute by case-insensitive name.
pub fn user_attribute(name: &str) -> Option<&'static AttributeDef> {
    USER.attribute(name).or_else(|| COMMON_ATTRIBUTES.iter().find(|a| a.name.eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive() {
        assert_eq!(user_attribute("USERNAME").map(|a| a.name), Some("userName"));
        assert_eq!(user_attribute("externalid").map(|a| a.name), Some("externalId"));
        assert!(user_extension("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER").is_some());
        assert_eq!(
            ENTERPRISE_USER.attribute("manager").and_then(|m| m.sub_attribute("DISPLAYNAME")).map(|a| a.name),
            Some("displayName")
        );
    }

    #[test]
    fn password_is_never_returned() {
        let pw = user_attribute("password").map(|a| a.returned);
        assert_eq!(pw, Some(Returned::Never));
    }
}
