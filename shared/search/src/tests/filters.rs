use super::{ids, named};
use crate::{Contact, Filters, Index, Query};

/// A small company: two directories, two departments, a manager chain.
pub(super) fn company() -> Index {
    let staff =
        |id: &str, given: &str, family: &str, title: &str, dept: &str, division: &str, manager: Option<&str>| Contact {
            title: Some(title.into()),
            department: Some(dept.into()),
            division: Some(division.into()),
            manager_id: manager.map(Into::into),
            ..named(id, given, family)
        };
    Index::build(vec![
        staff("ceo", "Grace", "Hopper", "CEO", "Board", "Corporate", None),
        staff("eng1", "Ada", "Lovelace", "Engineer", "Engineering", "Product", Some("ceo")),
        staff("eng2", "Alan", "Turing", "Engineer", "Engineering", "Product", Some("ceo")),
        staff("eng3", "Ada", "Yonath", "Manager", "Engineering", "Product", Some("eng1")),
        Contact { active: false, ..staff("sales1", "Alan", "Kay", "Account Executive", "Sales", "Field", Some("ceo")) },
        Contact {
            directory: "d2".into(),
            ..staff("sub1", "Ada", "Palmer", "Engineer", "Sales", "Field", Some("sub0"))
        },
    ])
}

fn filtered(filters: Filters) -> Query {
    Query { filters, ..Query::default() }
}

#[test]
fn each_filter_is_an_exact_match_on_the_stored_value() {
    let index = company();
    let cases = [
        (Filters { given_name: Some("Ada".into()), ..Filters::default() }, vec!["eng1", "sub1", "eng3"]),
        (Filters { family_name: Some("Turing".into()), ..Filters::default() }, vec!["eng2"]),
        (Filters { title: Some("Engineer".into()), ..Filters::default() }, vec!["eng1", "sub1", "eng2"]),
        (Filters { manager: Some("ceo".into()), ..Filters::default() }, vec!["eng1", "sales1", "eng2"]),
        (Filters { division: Some("Field".into()), ..Filters::default() }, vec!["sub1", "sales1"]),
        (Filters { department: Some("Engineering".into()), ..Filters::default() }, vec!["eng1", "eng3", "eng2"]),
        (Filters { directory: Some("d2".into()), ..Filters::default() }, vec!["sub1"]),
        (Filters { given_name: Some("ada".into()), ..Filters::default() }, vec![]),
        (Filters { title: Some("Engineer ".into()), ..Filters::default() }, vec![]),
        (Filters { department: Some("Nowhere".into()), ..Filters::default() }, vec![]),
    ];
    for (filters, expected) in cases {
        assert_eq!(ids(&index, &filtered(filters.clone())), expected, "{filters:?}");
    }
}

#[test]
fn filters_combine_with_each_other_and_with_text() {
    let index = company();
    let both = Filters { given_name: Some("Ada".into()), title: Some("Engineer".into()), ..Filters::default() };
    assert_eq!(ids(&index, &filtered(both.clone())), ["eng1", "sub1"]);
    let with_dir = Filters { directory: Some("d1".into()), ..both.clone() };
    assert_eq!(ids(&index, &filtered(with_dir)), ["eng1"]);
    let text = Query { text: "pal".into(), filters: both, ..Query::default() };
    assert_eq!(ids(&index, &text), ["sub1"]);
    let text = Query {
        text: "turing".into(),
        filters: Filters { title: Some("CEO".into()), ..Filters::default() },
        ..Query::default()
    };
    assert!(ids(&index, &text).is_empty());
}

#[test]
fn active_only_hides_deactivated_contacts_who_are_otherwise_found() {
    let index = company();
    assert_eq!(ids(&index, &Query::text("kay")), ["sales1"]);
    let active = Query { active_only: true, ..Query::text("kay") };
    assert!(ids(&index, &active).is_empty());
    let reports =
        Query { active_only: true, ..filtered(Filters { manager: Some("ceo".into()), ..Filters::default() }) };
    assert_eq!(ids(&index, &reports), ["eng1", "eng2"]);
    assert_eq!(index.search(&Query { active_only: true, ..Query::default() }).unwrap().total, 5);
}

#[test]
fn direct_reports_are_in_display_order() {
    let index = company();
    let names: Vec<&str> = index.direct_reports("ceo").iter().map(|c| c.id.as_str()).collect();
    assert_eq!(names, ["eng1", "sales1", "eng2"]);
    let names: Vec<&str> = index.direct_reports("eng1").iter().map(|c| c.id.as_str()).collect();
    assert_eq!(names, ["eng3"]);
    // A manager who is not in the index still has reports.
    assert_eq!(index.direct_reports("sub0").len(), 1);
    assert!(index.direct_reports("nobody").is_empty());
}
