use super::{find, person};
use crate::{Contact, Index};

fn with_phones(id: &str, phones: &[&str]) -> Contact {
    Contact { phones: phones.iter().map(|p| (*p).to_owned()).collect(), ..person(id, id) }
}

fn company() -> Index {
    Index::build(vec![
        with_phones("ams", &["+31-20-555 0101"]),
        with_phones("rdam", &["+31 10 444 0202"]),
        with_phones("nyc", &["+1 (212) 555-0199"]),
        Contact { primary_phone: Some("020 7946 0018".into()), ..person("ldn", "ldn") },
        Contact { employee_number: Some("3120".into()), ..person("emp", "emp") },
    ])
}

#[test]
fn digits_match_across_groups() {
    let index = company();
    // "31" and "20" are both words of the phone; the employee number 3120 has only one of them.
    assert_eq!(find(&index, "+31 20"), ["ams"]);
    // One word: a prefix of the employee number and of the phone's digits.
    assert_eq!(find(&index, "+3120"), ["ams", "emp"]);
    assert_eq!(find(&index, "31-20-555"), ["ams"]);
    assert_eq!(find(&index, "(20) 555 01"), ["ams"]);
    assert_eq!(find(&index, "2055501"), ["ams"]);
}

#[test]
fn each_group_starts_a_match() {
    let index = company();
    assert_eq!(find(&index, "+31"), ["ams", "emp", "rdam"]);
    assert_eq!(find(&index, "555"), ["ams", "nyc"]);
    assert_eq!(find(&index, "212 555 0199"), ["nyc"]);
    assert_eq!(find(&index, "0199"), ["nyc"]);
    assert_eq!(find(&index, "7946 0018"), ["ldn"]);
}

#[test]
fn digits_must_start_at_a_group() {
    let index = company();
    assert!(find(&index, "1205").is_empty());
    assert!(find(&index, "0555").is_empty());
    assert_eq!(find(&index, "55 50"), ["ams", "nyc"], "5550101 and 5550199 start at the group 555");
}
