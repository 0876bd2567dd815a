//! The HTTP API's routes, written once: `METHOD path-template → function`, as `template.yaml` declares them.
//! `fd-local` routes by this table, the template test checks `template.yaml`'s events against it, and the
//! handlers check their verb with it. Adding a route is one line here plus its event in the template.

/// A Lambda function of the stack (its logical id in `template.yaml` is [`Function::logical_id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    /// `functions/scim-get`.
    ScimGet,
    /// `functions/scim-post`.
    ScimPost,
    /// `functions/scim-put`.
    ScimPut,
    /// `functions/scim-patch`.
    ScimPatch,
    /// `functions/scim-delete`.
    ScimDelete,
    /// `functions/saml-acs`: sign-in.
    SamlAcs,
    /// `functions/web`: the address book's pages, its JSON API and assets.
    Web,
}

impl Function {
    /// The function's logical id in `template.yaml`.
    pub fn logical_id(self) -> &'static str {
        match self {
            Function::ScimGet => "ScimGetFunction",
            Function::ScimPost => "ScimPostFunction",
            Function::ScimPut => "ScimPutFunction",
            Function::ScimPatch => "ScimPatchFunction",
            Function::ScimDelete => "ScimDeleteFunction",
            Function::SamlAcs => "SamlAcsFunction",
            Function::Web => "WebFunction",
        }
    }

    /// The largest request body the function accepts: the edge reads no more than this (413 beyond).
    pub fn max_body_bytes(self) -> usize {
        match self {
            Function::SamlAcs => SIGN_IN_MAX_BODY_BYTES,
            Function::Web => WEB_MAX_BODY_BYTES,
            _ => crate::service::MAX_BODY_BYTES,
        }
    }

    /// Whether the function speaks SCIM (its errors are SCIM error bodies, its callers send Bearer keys).
    pub fn is_scim(self) -> bool {
        !matches!(self, Function::SamlAcs | Function::Web)
    }
}

/// Largest sign-in request body: a 1 MiB `SAMLResponse` percent-encoded (at most three bytes per character)
/// plus a RelayState.
pub const SIGN_IN_MAX_BODY_BYTES: usize = 3 * 1024 * 1024 + 8 * 1024;

/// Largest web request body: the address book's forms carry a CSRF token and little else.
pub const WEB_MAX_BODY_BYTES: usize = 8 * 1024;

/// One route of the HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// API Gateway path template: literal segments, `{name}` (one segment) and a final `{proxy+}` (one or more).
    pub path: &'static str,
    /// The function that serves it.
    pub function: Function,
}

/// Every route of the stack.
pub const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/scim/v2/{proxy+}", function: Function::ScimGet },
    Route { method: "POST", path: "/scim/v2/{proxy+}", function: Function::ScimPost },
    Route { method: "PUT", path: "/scim/v2/{proxy+}", function: Function::ScimPut },
    Route { method: "PATCH", path: "/scim/v2/{proxy+}", function: Function::ScimPatch },
    Route { method: "DELETE", path: "/scim/v2/{proxy+}", function: Function::ScimDelete },
    Route { method: "POST", path: "/saml/{directory}/acs", function: Function::SamlAcs },
    Route { method: "GET", path: "/saml/{directory}/login", function: Function::SamlAcs },
    Route { method: "GET", path: "/saml/{directory}/metadata", function: Function::SamlAcs },
    Route { method: "GET", path: "/me", function: Function::SamlAcs },
    Route { method: "GET", path: "/", function: Function::Web },
    Route { method: "GET", path: "/of", function: Function::Web },
    Route { method: "GET", path: "/of/{company}", function: Function::Web },
    Route { method: "GET", path: "/contacts/{contact}", function: Function::Web },
    Route { method: "GET", path: "/account", function: Function::Web },
    Route { method: "POST", path: "/signout", function: Function::Web },
    Route { method: "POST", path: "/account/sessions/{session}/end", function: Function::Web },
    Route { method: "GET", path: "/api/{proxy+}", function: Function::Web },
    Route { method: "GET", path: "/assets/{asset}", function: Function::Web },
];

/// The route that serves `method path`, as API Gateway would pick it (`path` without the query).
pub fn find(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.method == method && matches(r.path, path))
}

/// The routes of one function.
pub fn of(function: Function) -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().filter(move |r| r.function == function)
}

/// Whether `path` matches the path template.
pub fn matches(template: &str, path: &str) -> bool {
    let Some(path) = path.strip_prefix('/') else {
        return false;
    };
    if template == "/" {
        return path.is_empty();
    }
    let mut segments = path.split('/');
    for part in template.trim_start_matches('/').split('/') {
        if part.ends_with("+}") {
            // Greedy: one or more non-empty remaining segments.
            let rest: Vec<&str> = segments.by_ref().collect();
            return !rest.is_empty() && rest.iter().all(|s| !s.is_empty());
        }
        match segments.next() {
            Some(segment) if part.starts_with('{') => {
                if segment.is_empty() {
                    return false;
                }
            }
            Some(segment) if segment == part => {}
            _ => return false,
        }
    }
    segments.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_as_api_gateway_does() {
        assert!(matches("/scim/v2/{proxy+}", "/scim/v2/Users"));
        assert!(matches("/scim/v2/{proxy+}", "/scim/v2/Users/abc"));
        assert!(!matches("/scim/v2/{proxy+}", "/scim/v2"));
        assert!(!matches("/scim/v2/{proxy+}", "/scim/v2/"));
        assert!(!matches("/scim/v2/{proxy+}", "/scim/v2x/Users"));
        assert!(!matches("/scim/v2/{proxy+}", "/scim/v2/Users//x"));
        assert!(matches("/saml/{directory}/acs", "/saml/d1/acs"));
        assert!(!matches("/saml/{directory}/acs", "/saml//acs"));
        assert!(!matches("/saml/{directory}/acs", "/saml/d1/acs/x"));
        assert!(!matches("/saml/{directory}/acs", "/saml/d1"));
        assert!(matches("/me", "/me"));
        assert!(matches("/", "/"));
        assert!(!matches("/", "/x"));
        assert!(matches("/contacts/{contact}", "/contacts/abc.vcf"));
        assert!(!matches("/me", "/me/"));
        assert!(!matches("/me", "me"));
    }

    #[test]
    fn every_verb_has_its_function() {
        for (method, function) in [
            ("GET", Function::ScimGet),
            ("POST", Function::ScimPost),
            ("PUT", Function::ScimPut),
            ("PATCH", Function::ScimPatch),
            ("DELETE", Function::ScimDelete),
        ] {
            assert_eq!(find(method, "/scim/v2/Users/1").map(|r| r.function), Some(function));
        }
        assert_eq!(find("POST", "/saml/d/acs").map(|r| r.function), Some(Function::SamlAcs));
        assert_eq!(find("GET", "/saml/d/acs"), None);
        assert_eq!(find("HEAD", "/me"), None);
        assert_eq!(of(Function::SamlAcs).count(), 4);
    }
}
