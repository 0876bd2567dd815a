//! The searchable view of one person.

/// A person as the search sees them: the attributes that are matched, filtered and faceted on.
///
/// `manager_id` is the *resolved* manager (the manager's contact id), not the raw SCIM value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// The contact's id, unique in the index.
    pub id: String,
    /// The id of the directory the contact was provisioned into.
    pub directory: String,
    /// The name shown in lists; also the tie-break order of results.
    pub display_name: String,
    /// The given (first) name.
    pub given_name: Option<String>,
    /// The family (last) name.
    pub family_name: Option<String>,
    /// The nickname ("Bob" for Robert).
    pub nick_name: Option<String>,
    /// The sign-in name, often an email address.
    pub user_name: String,
    /// All email addresses.
    pub emails: Vec<String>,
    /// The primary email address (searched too, in case it is missing from `emails`).
    pub primary_email: Option<String>,
    /// All phone numbers, as provisioned (any punctuation).
    pub phones: Vec<String>,
    /// The primary phone number (searched too, in case it is missing from `phones`).
    pub primary_phone: Option<String>,
    /// The job title.
    pub title: Option<String>,
    /// The department.
    pub department: Option<String>,
    /// The division.
    pub division: Option<String>,
    /// The employee number.
    pub employee_number: Option<String>,
    /// The resolved manager's contact id.
    pub manager_id: Option<String>,
    /// False once deactivated; deactivated contacts stay findable unless a query asks for active ones only.
    pub active: bool,
}
