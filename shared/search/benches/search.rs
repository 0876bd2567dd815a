//! Search, facet and update costs on synthetic companies of 10,000 and 100,000 contacts.
//!
//! Run with `cargo bench -p fd-search`. The companies are generated deterministically from the small name lists
//! below; no data files are read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use divan::{Bencher, black_box};
use fd_search::{Contact, Filters, Index, Query};

const SIZES: [usize; 2] = [10_000, 100_000];

const GIVEN: &[&str] = &[
    "Maria", "Mark", "Martin", "Marta", "Anna", "Andreas", "Ahmed", "Aiko", "José", "Jan", "Jana", "Johan", "Sofia",
    "Søren", "Stefan", "Sara", "Lukas", "Łucja", "Laura", "Li", "Wei", "Yuki", "Priya", "Rahul", "Olga", "Oliver",
    "Emma", "Émile", "Noah", "Nina", "Peter", "Paula", "Kenji", "Kim", "Chloé", "Carlos", "David", "Daniel", "Fatima",
    "Grace", "Hannah", "Isabel", "Ingrid", "Tomasz", "Zoë", "Bjørn", "Ewa", "Giulia", "Hugo", "Ivan",
];
const FAMILY: &[&str] = &[
    "Müller",
    "Martin",
    "Smith",
    "Jansen",
    "de Vries",
    "García",
    "Rossi",
    "Kowalski",
    "Nowak",
    "Novák",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Dubois",
    "Bernard",
    "Moreau",
    "Laurent",
    "Lefèvre",
    "Johansson",
    "Andersson",
    "Nielsen",
    "Hansen",
    "Virtanen",
    "Korhonen",
    "Tanaka",
    "Suzuki",
    "Satō",
    "Kim",
    "Lee",
    "Park",
    "Chen",
    "Wang",
    "Zhang",
    "Singh",
    "Patel",
    "Kumar",
    "O'Brien",
    "Murphy",
    "Kelly",
    "Walsh",
    "Silva",
    "Santos",
    "Ferreira",
    "Öztürk",
    "Yılmaz",
    "Kaya",
    "Demir",
    "Straße",
    "Ivanov",
    "Petrov",
    "Popescu",
    "Horváth",
    "Nagy",
    "Papadopoulos",
    "Cohen",
];
const TITLES: &[&str] = &[
    "Software Engineer",
    "Senior Software Engineer",
    "Engineering Manager",
    "Product Manager",
    "Designer",
    "Data Scientist",
    "Sales Representative",
    "Account Executive",
    "Marketing Specialist",
    "Recruiter",
    "HR Business Partner",
    "Financial Analyst",
    "Controller",
    "Legal Counsel",
    "Support Engineer",
    "Office Manager",
    "Director",
    "Vice President",
    "Intern",
    "Consultant",
];
const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Product",
    "Design",
    "Data",
    "Sales",
    "Marketing",
    "People",
    "Finance",
    "Legal",
    "Support",
    "Operations",
    "Research",
];
const DIVISIONS: &[&str] = &["Technology", "Commercial", "Corporate", "International"];
const CITIES: &[&str] = &["+31 20", "+31 10", "+49 30", "+44 20", "+1 212", "+81 3"];

/// A deterministic pseudo-random number generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[(self.next() % list.len() as u64) as usize]
    }
}

/// A company of `n` contacts in two directories, with a management tree of spans of about eight.
fn company(n: usize) -> Vec<Contact> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
    (0..n)
        .map(|i| {
            let given = rng.pick(GIVEN);
            let family = rng.pick(FAMILY);
            let login = format!("{}.{}{}", given, family, i).to_lowercase().replace([' ', '\''], "");
            let phone = format!("{} {:03} {:04}", rng.pick(CITIES), rng.next() % 1000, rng.next() % 10_000);
            let mut phones = vec![phone.clone()];
            if rng.next() % 3 == 0 {
                phones.push(format!("+31 6 {:08}", rng.next() % 100_000_000));
            }
            Contact {
                id: format!("u{i:07}"),
                directory: if i % 5 == 0 { "acme-emea".into() } else { "acme-us".into() },
                display_name: format!("{given} {family}"),
                given_name: Some(given.into()),
                family_name: Some(family.into()),
                nick_name: (rng.next() % 10 == 0).then(|| given.chars().take(3).collect()),
                user_name: format!("{login}@acme.example"),
                emails: vec![format!("{login}@acme.example")],
                primary_email: Some(format!("{login}@acme.example")),
                primary_phone: Some(phone),
                phones,
                title: Some(rng.pick(TITLES).into()),
                department: Some(rng.pick(DEPARTMENTS).into()),
                division: Some(rng.pick(DIVISIONS).into()),
                employee_number: Some(format!("E{i:06}")),
                manager_id: (i > 0).then(|| format!("u{:07}", (i - 1) / 8)),
                active: rng.next() % 20 != 0,
            }
        })
        .collect()
}

fn index(n: usize) -> &'static Index {
    static SMALL: OnceLock<Index> = OnceLock::new();
    static LARGE: OnceLock<Index> = OnceLock::new();
    let cell = if n <= SIZES[0] { &SMALL } else { &LARGE };
    cell.get_or_init(|| Index::build(company(n)))
}

/// A replacement for contact `i` of the company of `n` (renamed, so that its terms change).
fn replacement(n: usize, i: usize) -> Contact {
    let mut contact = company_member(n, (i * 7919) % n);
    contact.display_name.push_str(" Jr");
    contact
}

fn company_member(n: usize, i: usize) -> Contact {
    static SMALL: OnceLock<Vec<Contact>> = OnceLock::new();
    static LARGE: OnceLock<Vec<Contact>> = OnceLock::new();
    let cell = if n <= SIZES[0] { &SMALL } else { &LARGE };
    cell.get_or_init(|| company(n))[i].clone()
}

/// The company of `n` after `n / 40` contacts were replaced one by one: their new versions are in the delta, just
/// under the rebuild threshold (which is `n / 16` pending slots).
fn updated_index(n: usize) -> &'static Index {
    static SMALL: OnceLock<Index> = OnceLock::new();
    static LARGE: OnceLock<Index> = OnceLock::new();
    let cell = if n <= SIZES[0] { &SMALL } else { &LARGE };
    cell.get_or_init(|| {
        let mut index = Index::build(company(n));
        for i in 0..n / 40 {
            index.upsert(replacement(n, i));
        }
        index
    })
}

fn search(bencher: Bencher, n: usize, query: Query) {
    let index = index(n);
    bencher.bench(|| index.search(black_box(&query)).unwrap().total);
}

#[divan::bench(args = SIZES)]
fn prefix_1_letter(bencher: Bencher, n: usize) {
    search(bencher, n, Query::text("m"));
}

#[divan::bench(args = SIZES)]
fn prefix_1_letter_pending_updates(bencher: Bencher, n: usize) {
    let index = updated_index(n);
    let query = Query::text("m");
    bencher.bench(|| index.search(black_box(&query)).unwrap().total);
}

#[divan::bench(args = SIZES)]
fn prefix_2_letters(bencher: Bencher, n: usize) {
    search(bencher, n, Query::text("ma"));
}

#[divan::bench(args = SIZES)]
fn prefix_3_letters(bencher: Bencher, n: usize) {
    search(bencher, n, Query::text("mar"));
}

#[divan::bench(args = SIZES)]
fn two_words(bencher: Bencher, n: usize) {
    search(bencher, n, Query::text("maria mü"));
}

#[divan::bench(args = SIZES)]
fn phone_digits(bencher: Bencher, n: usize) {
    search(bencher, n, Query::text("+31 20 5"));
}

#[divan::bench(args = SIZES)]
fn filtered(bencher: Bencher, n: usize) {
    let filters = Filters { department: Some("Engineering".into()), ..Filters::default() };
    search(bencher, n, Query { filters, active_only: true, ..Query::text("s") });
}

#[divan::bench(args = SIZES)]
fn deep_page(bencher: Bencher, n: usize) {
    search(bencher, n, Query { offset: n / 20, limit: 50, ..Query::text("m") });
}

#[divan::bench(args = SIZES)]
fn facets_1_letter(bencher: Bencher, n: usize) {
    let index = index(n);
    let query = Query::text("m");
    bencher.bench(|| index.facets(black_box(&query), 10).unwrap().department.len());
}

#[divan::bench(args = SIZES)]
fn facets_filtered(bencher: Bencher, n: usize) {
    let index = index(n);
    let filters =
        Filters { department: Some("Engineering".into()), title: Some("Designer".into()), ..Filters::default() };
    let query = Query { filters, ..Query::text("s") };
    bencher.bench(|| index.facets(black_box(&query), 10).unwrap().department.len());
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn build(bencher: Bencher, n: usize) {
    bencher.with_inputs(|| company(n)).bench_values(Index::build);
}

/// One upsert (a replaced contact) into a freshly built index; the mean includes the occasional rebuild of the
/// base, the slowest sample shows its pause.
#[divan::bench(args = SIZES, sample_count = 20, sample_size = 200)]
fn upsert(bencher: Bencher, n: usize) {
    let mut index = Index::build(company(n));
    let mut i = 0;
    bencher.bench_local(|| {
        index.upsert(replacement(n, i));
        i += 1;
    });
}

fn main() {
    for n in SIZES {
        let index = index(n);
        println!(
            "{n} contacts: index {} bytes/contact, contacts {} bytes/contact",
            index.heap_bytes() / n,
            index.contacts_heap_bytes() / n
        );
        let totals: Vec<String> = ["m", "ma", "mar", "maria mü", "+31 20 5", "s"]
            .iter()
            .map(|q| format!("{q:?} {}", index.search(&Query::text(*q)).unwrap().total))
            .collect();
        println!("  matches: {}", totals.join(", "));
    }
    divan::main();
}
