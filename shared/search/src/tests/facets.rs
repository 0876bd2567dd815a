use super::filters::company;
use crate::{FacetValue, Filters, Index, Query};

fn pairs<'a>(values: &[FacetValue<'a>]) -> Vec<(&'a str, usize)> {
    values.iter().map(|v| (v.value, v.count)).collect()
}

#[test]
fn counts_are_sorted_by_count_then_value() {
    let index = company();
    let facets = index.facets(&Query::default(), 10).unwrap();
    assert_eq!(pairs(&facets.given_name), [("Ada", 3), ("Alan", 2), ("Grace", 1)]);
    assert_eq!(pairs(&facets.department), [("Engineering", 3), ("Sales", 2), ("Board", 1)]);
    assert_eq!(pairs(&facets.directory), [("d1", 5), ("d2", 1)]);
    assert_eq!(pairs(&facets.title), [("Engineer", 3), ("Account Executive", 1), ("CEO", 1), ("Manager", 1)]);
    assert_eq!(pairs(&facets.division), [("Product", 3), ("Field", 2), ("Corporate", 1)]);
}

#[test]
fn the_manager_facet_is_labelled_with_the_managers_name_when_known() {
    let index = company();
    let facets = index.facets(&Query::default(), 10).unwrap();
    let managers: Vec<(&str, Option<&str>, usize)> =
        facets.manager.iter().map(|v| (v.value, v.label, v.count)).collect();
    assert_eq!(managers, [("ceo", Some("Grace Hopper"), 3), ("eng1", Some("Ada Lovelace"), 1), ("sub0", None, 1)]);
}

#[test]
fn a_fields_counts_ignore_its_own_filter_but_apply_the_others() {
    let index = company();
    let query = Query {
        filters: Filters {
            given_name: Some("Ada".into()),
            department: Some("Engineering".into()),
            ..Filters::default()
        },
        ..Query::default()
    };
    let facets = index.facets(&query, 10).unwrap();
    // Given names within Engineering: the alternatives to "Ada" stay visible.
    assert_eq!(pairs(&facets.given_name), [("Ada", 2), ("Alan", 1)]);
    // Departments of the Adas.
    assert_eq!(pairs(&facets.department), [("Engineering", 2), ("Sales", 1)]);
    // Other fields: both filters apply.
    assert_eq!(pairs(&facets.title), [("Engineer", 1), ("Manager", 1)]);
    assert_eq!(index.search(&query).unwrap().total, 2);
}

#[test]
fn facets_follow_the_text_and_active_only() {
    let index = company();
    let facets = index.facets(&Query::text("alan"), 10).unwrap();
    assert_eq!(pairs(&facets.department), [("Engineering", 1), ("Sales", 1)]);
    let facets = index.facets(&Query { active_only: true, ..Query::text("alan") }, 10).unwrap();
    assert_eq!(pairs(&facets.department), [("Engineering", 1)]);
    let facets = index.facets(&Query::text("nobody"), 10).unwrap();
    assert!(facets.department.is_empty() && facets.manager.is_empty());
}

#[test]
fn values_per_field_are_capped() {
    let index = company();
    let facets = index.facets(&Query::default(), 2).unwrap();
    assert_eq!(pairs(&facets.title), [("Engineer", 3), ("Account Executive", 1)]);
    assert!(index.facets(&Query::default(), 0).unwrap().title.is_empty());
}

#[test]
fn an_empty_index_has_no_facets() {
    let index = Index::default();
    let facets = index.facets(&Query::default(), 5).unwrap();
    assert_eq!(facets, crate::Facets::default());
}
