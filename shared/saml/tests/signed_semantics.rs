//! Responses signed by the trusted IdP whose content must still be refused: values outside the SAML
//! namespaces, values that only match after trimming, too old or too long-lived assertions, unsolicited
//! responses when IdP-initiated sign-in is off. Each document is edited *before* it is signed, so the
//! signatures are genuine and only the content check can refuse it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

mod common;

use common::*;
use fd_saml::dev_idp::{SignMode, fmt_time};
use fd_saml::{MAX_ASSERTION_AGE, MAX_ASSERTION_LIFETIME, SamlError, ValidationConfig};
use time::Duration;

const ALL_MODES: [SignMode; 3] = [SignMode::Both, SignMode::ResponseOnly, SignMode::AssertionOnly];
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const TEN_YEARS: Duration = Duration::days(3653);
/// A minute beyond the default clock skew.
const BEYOND_SKEW: Duration = Duration::minutes(3);

/// Apply `edit` to the start tag that begins with `start` (e.g. `<saml2:Conditions `), once.
fn edit_start_tag(xml: &str, start: &str, edit: impl Fn(&str) -> String) -> String {
    assert_eq!(xml.matches(start).count(), 1, "expected exactly one {start:?}");
    let from = xml.find(start).unwrap();
    let to = from + xml[from..].find('>').unwrap() + 1;
    let edited = edit(&xml[from..to]);
    assert_ne!(edited, xml[from..to], "the edit of {start:?} changed nothing");
    format!("{}{}{}", &xml[..from], edited, &xml[to..])
}

/// Set attribute `name` of the start tag beginning with `start` to `value`.
fn set_attr(xml: &str, start: &str, name: &str, value: &str) -> String {
    edit_start_tag(xml, start, |tag| {
        let key = format!(" {name}=\"");
        let at = tag.find(&key).unwrap_or_else(|| panic!("no {name} in {tag}")) + key.len();
        let end = at + tag[at..].find('"').unwrap();
        format!("{}{}{}", &tag[..at], value, &tag[end..])
    })
}

/// Every sign mode: the edited, genuinely signed response is refused with an error matching `pred`.
#[track_caller]
fn refused_in_all_modes(edit: impl Fn(String) -> String, pred: impl Fn(&SamlError) -> bool) {
    for sign in ALL_MODES {
        let xml = signed_with(sign, &edit);
        let e = match check_xml(&xml) {
            Ok(v) => panic!("{sign:?}: accepted (name_id {:?})", v.name_id),
            Err(e) => e,
        };
        assert!(pred(&e), "{sign:?}: unexpected error {e:?}");
    }
}

fn is_malformed(e: &SamlError) -> bool {
    matches!(e, SamlError::Malformed(_))
}

// ---------------------------------------------------------------------------------------------------------
// Namespace-aware reading: a SAML local name in another namespace is not the SAML element or attribute.

#[test]
fn audience_in_a_foreign_namespace_is_not_an_audience() {
    let genuine = format!("<saml2:Audience>{SP_ENTITY_ID}</saml2:Audience>");
    // The only Audience is {urn:evil}Audience.
    refused_in_all_modes(
        |t| replace_once(&t, &genuine, &format!(r#"<q:Audience xmlns:q="urn:evil">{SP_ENTITY_ID}</q:Audience>"#)),
        |e| matches!(e, SamlError::Audience(_)) || is_malformed(e),
    );
    // The same through a default namespace declaration.
    refused_in_all_modes(
        |t| replace_once(&t, &genuine, &format!(r#"<Audience xmlns="urn:evil">{SP_ENTITY_ID}</Audience>"#)),
        |e| matches!(e, SamlError::Audience(_)) || is_malformed(e),
    );
    // A genuine Audience naming another SP, next to a foreign one naming us.
    refused_in_all_modes(
        |t| {
            replace_once(
                &t,
                &genuine,
                &format!(
                    r#"<saml2:Audience>urn:other-sp</saml2:Audience><q:Audience xmlns:q="urn:evil">{SP_ENTITY_ID}</q:Audience>"#
                ),
            )
        },
        |e| matches!(e, SamlError::Audience(_)) || is_malformed(e),
    );
    // The whole AudienceRestriction in a foreign namespace.
    refused_in_all_modes(
        |t| {
            replace_once(&t, "<saml2:AudienceRestriction>", r#"<q:AudienceRestriction xmlns:q="urn:evil">"#).replacen(
                "</saml2:AudienceRestriction>",
                "</q:AudienceRestriction>",
                1,
            )
        },
        |e| matches!(e, SamlError::Audience(_)) || is_malformed(e),
    );
}

#[test]
fn audience_in_the_saml_namespace_under_another_prefix_is_accepted() {
    // Namespaces, not prefixes, decide: a default-namespace Audience in the SAML assertion namespace counts.
    for sign in ALL_MODES {
        let xml = signed_with(sign, |t| {
            replace_once(
                &t,
                &format!("<saml2:Audience>{SP_ENTITY_ID}</saml2:Audience>"),
                &format!(r#"<Audience xmlns="urn:oasis:names:tc:SAML:2.0:assertion">{SP_ENTITY_ID}</Audience>"#),
            )
        });
        assert_accepted(check_xml(&xml));
    }
}

#[test]
fn recipient_in_a_foreign_namespace_is_not_a_recipient() {
    refused_in_all_modes(
        |t| {
            replace_once(
                &t,
                &format!(r#" Recipient="{ACS_URL}""#),
                &format!(r#" xmlns:q="urn:evil" q:Recipient="{ACS_URL}""#),
            )
        },
        |e| matches!(e, SamlError::Recipient(_)),
    );
}

#[test]
fn method_in_a_foreign_namespace_is_not_a_method() {
    refused_in_all_modes(
        |t| replace_once(&t, &format!(r#" Method="{BEARER}""#), &format!(r#" xmlns:q="urn:evil" q:Method="{BEARER}""#)),
        |e| matches!(e, SamlError::SubjectConfirmation(_)),
    );
}

#[test]
fn subject_confirmation_data_in_a_foreign_namespace_is_refused() {
    // The element itself in another namespace.
    refused_in_all_modes(
        |t| replace_once(&t, "<saml2:SubjectConfirmationData", r#"<q:SubjectConfirmationData xmlns:q="urn:evil""#),
        |e| matches!(e, SamlError::SubjectConfirmation(_)) || is_malformed(e),
    );
    // Its NotOnOrAfter in another namespace: there is no NotOnOrAfter.
    refused_in_all_modes(
        |t| {
            edit_start_tag(&t, "<saml2:SubjectConfirmationData", |tag| {
                tag.replacen(" NotOnOrAfter=", r#" xmlns:q="urn:evil" q:NotOnOrAfter="#, 1)
            })
        },
        |e| matches!(e, SamlError::SubjectConfirmation(_)),
    );
    // Its InResponseTo in another namespace: the signed assertion answers no request, so the unsigned envelope's
    // InResponseTo cannot be used.
    let xml = signed_with(SignMode::AssertionOnly, |t| {
        edit_start_tag(&t, "<saml2:SubjectConfirmationData", |tag| {
            tag.replacen(" InResponseTo=", r#" xmlns:q="urn:evil" q:InResponseTo="#, 1)
        })
    });
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::InResponseTo(_)));
}

#[test]
fn attributes_in_a_foreign_namespace_are_never_read() {
    // A qualified attribute with a SAML attribute's local name, placed first (a lookup by local name alone
    // would find it before the real one).
    let evil_acs = "https://evil.example.com/acs";
    refused_in_all_modes(
        |t| {
            edit_start_tag(&t, "<saml2p:Response ", |tag| {
                tag.replacen(
                    &format!(r#" Destination="{ACS_URL}""#),
                    &format!(r#" xmlns:q="urn:evil" q:Destination="{ACS_URL}" Destination="{evil_acs}""#),
                    1,
                )
            })
        },
        |e| matches!(e, SamlError::Destination(_)),
    );
    refused_in_all_modes(
        |t| {
            edit_start_tag(&t, "<saml2:SubjectConfirmationData", |tag| {
                tag.replacen(
                    &format!(r#" Recipient="{ACS_URL}""#),
                    &format!(r#" xmlns:q="urn:evil" q:Recipient="{ACS_URL}" Recipient="{evil_acs}""#),
                    1,
                )
            })
        },
        |e| matches!(e, SamlError::Recipient(_)) || is_malformed(e),
    );
    refused_in_all_modes(
        |t| {
            edit_start_tag(&t, "<saml2p:StatusCode ", |tag| {
                let success = r#" Value="urn:oasis:names:tc:SAML:2.0:status:Success""#;
                let foreign_success = success.replace(" Value=", r#" xmlns:q="urn:evil" q:Value="#);
                tag.replacen(
                    success,
                    &format!(r#"{foreign_success} Value="urn:oasis:names:tc:SAML:2.0:status:Requester""#),
                    1,
                )
            })
        },
        |e| matches!(e, SamlError::Status(_)),
    );
    // The Assertion's ID and Version only in another namespace: it has neither.
    refused_in_all_modes(
        |t| edit_start_tag(&t, "<saml2:Assertion ", |tag| tag.replacen(" ID=", r#" xmlns:q="urn:evil" q:ID="#, 1)),
        is_malformed,
    );
    refused_in_all_modes(
        |t| {
            edit_start_tag(&t, "<saml2:Assertion ", |tag| {
                tag.replacen(" Version=", r#" xmlns:q="urn:evil" q:Version="#, 1)
            })
        },
        is_malformed,
    );
    // The same for the Response's ID when the Response is signed.
    let xml = signed_with(SignMode::ResponseOnly, |t| {
        edit_start_tag(&t, "<saml2p:Response ", |tag| tag.replacen(" ID=", r#" xmlns:q="urn:evil" q:ID="#, 1))
    });
    assert_rejected(check_xml(&xml), is_malformed);
}

#[test]
fn returned_samael_view_cannot_read_foreign_attributes() {
    // samael matches attributes by local name: a qualified SessionIndex would become its session index.
    refused_in_all_modes(
        |t| {
            edit_start_tag(&t, "<saml2:AuthnStatement ", |tag| {
                tag.replacen(" SessionIndex=", r#" xmlns:q="urn:evil" q:SessionIndex="#, 1)
            })
        },
        is_malformed,
    );
    // An extension attribute with a name of its own (ADFS adds such to Attribute) stays acceptable.
    for sign in ALL_MODES {
        let xml = signed_with(sign, |t| {
            t.replacen(
                r#"<saml2:Attribute Name="groups""#,
                r#"<saml2:Attribute xmlns:a="http://schemas.xmlsoap.org/ws/2009/09/identity/claims" a:OriginalIssuer="x" Name="groups""#,
                1,
            )
        });
        let v = assert_accepted(check_xml(&xml));
        assert_eq!(v.attribute_values("groups"), ["Everyone", "fd-admins"]);
    }
}

#[test]
fn conditions_and_their_children_only_in_the_saml_namespace() {
    refused_in_all_modes(
        |t| {
            replace_once(&t, "<saml2:Conditions ", r#"<q:Conditions xmlns:q="urn:evil" "#).replacen(
                "</saml2:Conditions>",
                "</q:Conditions>",
                1,
            )
        },
        is_malformed,
    );
    // An unknown condition makes the assertion's validity indeterminate: refused.
    refused_in_all_modes(
        |t| replace_once(&t, "</saml2:Conditions>", r#"<q:Condition xmlns:q="urn:evil"/></saml2:Conditions>"#),
        is_malformed,
    );
    refused_in_all_modes(
        |t| replace_once(&t, "</saml2:Conditions>", "<saml2:Unknown/></saml2:Conditions>"),
        is_malformed,
    );
    // Conditions the SP honours anyway (replay cache; it issues no assertions) stay acceptable.
    for sign in ALL_MODES {
        let xml = signed_with(sign, |t| {
            replace_once(
                &t,
                "</saml2:Conditions>",
                "<saml2:OneTimeUse/><saml2:ProxyRestriction Count=\"0\"/></saml2:Conditions>",
            )
        });
        assert_accepted(check_xml(&xml));
    }
}

#[test]
fn attributes_only_in_the_saml_namespace() {
    refused_in_all_modes(
        |t| {
            replace_once(
                &t,
                "<saml2:AttributeStatement>",
                r#"<saml2:AttributeStatement><q:Attribute xmlns:q="urn:evil" Name="groups"><saml2:AttributeValue>fd-owners</saml2:AttributeValue></q:Attribute>"#,
            )
        },
        is_malformed,
    );
    refused_in_all_modes(
        |t| {
            replace_once(
                &t,
                ">fd-admins</saml2:AttributeValue>",
                r#">fd-admins</saml2:AttributeValue><q:AttributeValue xmlns:q="urn:evil">fd-owners</q:AttributeValue>"#,
            )
        },
        is_malformed,
    );
}

#[test]
fn elements_the_schema_allows_once_are_refused_twice() {
    let copy = |t: &str, start: &str, end: &str| {
        let span = element_span(t, start, end);
        format!("{}{}{}", &t[..span.end], &t[span.clone()], &t[span.end..])
    };
    refused_in_all_modes(|t| copy(&t, "<saml2:Conditions ", "</saml2:Conditions>"), is_malformed);
    refused_in_all_modes(|t| copy(&t, "<saml2:Subject>", "</saml2:Subject>"), is_malformed);
    refused_in_all_modes(|t| copy(&t, "<saml2:NameID ", "</saml2:NameID>"), is_malformed);
    refused_in_all_modes(
        |t| {
            let scd = &t[element_span(&t, "<saml2:SubjectConfirmationData", "/>")];
            t.replacen(scd, &format!("{scd}{scd}"), 1)
        },
        |e| is_malformed(e) || matches!(e, SamlError::SubjectConfirmation(_)),
    );
    refused_in_all_modes(|t| copy(&t, "<saml2p:Status>", "</saml2p:Status>"), is_malformed);
    // The assertion's Issuer (the second Issuer in the document).
    refused_in_all_modes(
        |t| {
            let issuer = format!(
                r#"<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{IDP_ENTITY_ID}</saml2:Issuer>"#
            );
            replace_once(&t, &issuer, &format!("{issuer}{issuer}"))
        },
        is_malformed,
    );
}

// ---------------------------------------------------------------------------------------------------------
// Exact comparison: no trimming, no normalization.

#[test]
fn audience_is_compared_exactly() {
    for padded in [format!(" {SP_ENTITY_ID} "), format!("\n        {SP_ENTITY_ID}\n      "), format!("{SP_ENTITY_ID}/")]
    {
        refused_in_all_modes(
            |t| {
                replace_once(
                    &t,
                    &format!("<saml2:Audience>{SP_ENTITY_ID}</saml2:Audience>"),
                    &format!("<saml2:Audience>{padded}</saml2:Audience>"),
                )
            },
            |e| matches!(e, SamlError::Audience(_)),
        );
    }
}

#[test]
fn destination_recipient_and_issuer_are_compared_exactly() {
    let padded_acs = format!(" {ACS_URL} ");
    refused_in_all_modes(
        |t| set_attr(&t, "<saml2p:Response ", "Destination", &padded_acs),
        |e| matches!(e, SamlError::Destination(_)),
    );
    refused_in_all_modes(
        |t| set_attr(&t, "<saml2:SubjectConfirmationData", "Recipient", &padded_acs),
        |e| matches!(e, SamlError::Recipient(_)),
    );
    refused_in_all_modes(
        |t| t.replace(&format!(">{IDP_ENTITY_ID}</saml2:Issuer>"), &format!("> {IDP_ENTITY_ID} </saml2:Issuer>")),
        |e| matches!(e, SamlError::Issuer(_)),
    );
}

// ---------------------------------------------------------------------------------------------------------
// Assertion age and lifetime.

#[test]
fn ten_year_old_assertion_is_refused() {
    // Issued ten years ago, valid until five minutes from now.
    let mut o = opts(SignMode::Both);
    o.now = now() - TEN_YEARS;
    o.lifetime = TEN_YEARS + Duration::minutes(5);
    for sign in ALL_MODES {
        o.sign = sign;
        let xml = idp().signed_response(&o).unwrap();
        assert_rejected(check_xml(&xml), |e| *e == SamlError::AssertionTooOld);
    }
    // Only the Assertion's IssueInstant is old; every validity window is current.
    let old = fmt_time(now() - TEN_YEARS);
    refused_in_all_modes(
        |t| set_attr(&t, "<saml2:Assertion ", "IssueInstant", &old),
        |e| *e == SamlError::AssertionTooOld,
    );
}

#[test]
fn issue_instant_in_the_future_is_refused() {
    let soon = fmt_time(now() + BEYOND_SKEW);
    refused_in_all_modes(
        |t| set_attr(&t, "<saml2:Assertion ", "IssueInstant", &soon),
        |e| matches!(e, SamlError::NotYetValid(_)),
    );
}

#[test]
fn ten_year_validity_is_refused() {
    // Both windows ten years long.
    let mut o = opts(SignMode::Both);
    o.lifetime = TEN_YEARS;
    for sign in ALL_MODES {
        o.sign = sign;
        let xml = idp().signed_response(&o).unwrap();
        assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::ValidityWindow(_)));
    }
    // Only the Conditions, or only the SubjectConfirmationData.
    let far = fmt_time(now() + TEN_YEARS);
    refused_in_all_modes(
        |t| set_attr(&t, "<saml2:Conditions ", "NotOnOrAfter", &far),
        |e| matches!(e, SamlError::ValidityWindow(_)),
    );
    refused_in_all_modes(
        |t| set_attr(&t, "<saml2:SubjectConfirmationData", "NotOnOrAfter", &far),
        |e| matches!(e, SamlError::ValidityWindow(_)),
    );
    // A NotBefore ten years back makes the window ten years long, too.
    let past = fmt_time(now() - TEN_YEARS);
    refused_in_all_modes(
        |t| set_attr(&t, "<saml2:Conditions ", "NotBefore", &past),
        |e| matches!(e, SamlError::ValidityWindow(_)),
    );
}

#[test]
fn validity_window_up_to_the_maximum() {
    // The template's Conditions start five minutes before the issue instant: 55 minutes more is one hour.
    let mut o = opts(SignMode::Both);
    o.lifetime = MAX_ASSERTION_LIFETIME - Duration::minutes(5);
    assert_accepted(check_xml(&idp().signed_response(&o).unwrap()));
    o.lifetime += Duration::seconds(1);
    assert_rejected(check_xml(&idp().signed_response(&o).unwrap()), |e| matches!(e, SamlError::ValidityWindow(_)));
}

#[test]
fn empty_validity_window_is_refused() {
    // NotBefore equal to NotOnOrAfter, a minute ahead: neither bound alone is refused (the clock skew covers
    // both), but the window is empty.
    let soon = fmt_time(now() + Duration::minutes(1));
    refused_in_all_modes(
        |t| {
            set_attr(
                &set_attr(&t, "<saml2:Conditions ", "NotBefore", &soon),
                "<saml2:Conditions ",
                "NotOnOrAfter",
                &soon,
            )
        },
        |e| matches!(e, SamlError::ValidityWindow(_)),
    );
}

#[test]
fn age_and_lifetime_maxima_are_configurable() {
    assert_eq!(MAX_ASSERTION_AGE, Duration::minutes(5));
    assert_eq!(MAX_ASSERTION_LIFETIME, Duration::hours(1));
    let cfg = config();
    assert_eq!(cfg.max_assertion_age, MAX_ASSERTION_AGE);
    assert_eq!(cfg.max_assertion_lifetime, MAX_ASSERTION_LIFETIME);

    // Issued four minutes ago: within the default age, not within one minute (plus the two-minute skew).
    let mut o = opts(SignMode::AssertionOnly);
    o.now = now() - Duration::minutes(4);
    let xml = idp().signed_response(&o).unwrap();
    assert_accepted(check_xml(&xml));
    let strict = config().with_max_assertion_age(Duration::minutes(1));
    assert_rejected(check_xml_with(&xml, &strict), |e| *e == SamlError::AssertionTooOld);

    // A two-hour window: refused by default, accepted with a three-hour maximum.
    let mut o = opts(SignMode::AssertionOnly);
    o.lifetime = Duration::hours(2);
    let xml = idp().signed_response(&o).unwrap();
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::ValidityWindow(_)));
    let lenient = config().with_max_assertion_lifetime(Duration::hours(3));
    assert_accepted(check_xml_with(&xml, &lenient));
}

// ---------------------------------------------------------------------------------------------------------
// IdP-initiated sign-in.

fn no_idp_initiated() -> ValidationConfig {
    config().with_idp_initiated(false)
}

#[test]
fn idp_initiated_is_allowed_by_default() {
    assert!(config().allow_idp_initiated);
    for sign in ALL_MODES {
        let mut o = opts(sign);
        o.in_response_to = None;
        let v = assert_accepted(check_xml(&idp().signed_response(&o).unwrap()));
        assert_eq!(v.in_response_to, None);
    }
}

#[test]
fn idp_initiated_can_be_turned_off() {
    let cfg = no_idp_initiated();
    assert!(!cfg.allow_idp_initiated);
    for sign in ALL_MODES {
        // Unsolicited: no InResponseTo anywhere.
        let mut o = opts(sign);
        o.in_response_to = None;
        let xml = idp().signed_response(&o).unwrap();
        assert_rejected(check_xml_with(&xml, &cfg), |e| *e == SamlError::IdpInitiatedDisabled);
        // An answer to our request still passes, with its signed InResponseTo for the caller to check.
        let v = assert_accepted(check_xml_with(&signed(sign), &cfg));
        assert_eq!(v.in_response_to.as_deref(), Some("id4f1e2d3c"));
    }
    // Assertion-only signing: an InResponseTo only in the unsigned envelope never makes it solicited.
    let mut o = opts(SignMode::AssertionOnly);
    o.in_response_to = None;
    let xml = idp().signed_response(&o).unwrap().replacen(
        "<saml2p:Response ",
        r#"<saml2p:Response InResponseTo="idMINE" "#,
        1,
    );
    assert_rejected(check_xml_with(&xml, &cfg), |e| {
        matches!(e, SamlError::InResponseTo(_)) || *e == SamlError::IdpInitiatedDisabled
    });
    // A signed Response answering our request whose assertion carries no InResponseTo: the signed envelope
    // value is the answer.
    let xml = signed_with(SignMode::ResponseOnly, |t| {
        edit_start_tag(&t, "<saml2:SubjectConfirmationData", |tag| tag.replacen(r#" InResponseTo="id4f1e2d3c""#, "", 1))
    });
    let v = assert_accepted(check_xml_with(&xml, &cfg));
    assert_eq!(v.in_response_to.as_deref(), Some("id4f1e2d3c"));
}

// ---------------------------------------------------------------------------------------------------------
// Error messages are safe to log: no value taken from the response.

#[test]
fn refusal_messages_carry_no_response_values() {
    const MARK: &str = "personal.data@example.org";
    let cases: Vec<(String, ValidationConfig)> = vec![
        (signed_with(SignMode::Both, |t| t.replace(SP_ENTITY_ID, MARK)), config()),
        (signed_with(SignMode::Both, |t| set_attr(&t, "<saml2p:Response ", "Destination", MARK)), config()),
        (signed_with(SignMode::Both, |t| set_attr(&t, "<saml2:SubjectConfirmationData", "Recipient", MARK)), config()),
        (signed_with(SignMode::Both, |t| t.replace(IDP_ENTITY_ID, MARK)), config()),
        (signed_with(SignMode::Both, |t| set_attr(&t, "<saml2:SubjectConfirmation ", "Method", MARK)), config()),
        (
            signed_with(SignMode::Both, |t| replace_once(&t, "<saml2:Subject>", "<saml2:Subject><saml2:personal/>")),
            config(),
        ),
        (signed_with(SignMode::Both, |t| set_attr(&t, "<saml2:Assertion ", "IssueInstant", MARK)), config()),
        (signed_with(SignMode::Both, |t| set_attr(&t, "<saml2:Conditions ", "NotOnOrAfter", MARK)), config()),
        (signed_with(SignMode::Both, |t| set_attr(&t, "<saml2p:StatusCode ", "Value", MARK)), config()),
        (signed(SignMode::AssertionOnly).replacen("id4f1e2d3c", "personal", 1), config()),
    ];
    for (i, (xml, cfg)) in cases.iter().enumerate() {
        let e = check_xml_with(xml, cfg).expect_err(&format!("case {i} accepted"));
        let text = e.to_string();
        assert!(!text.contains(MARK) && !text.contains("personal"), "case {i}: {text}");
    }
}
