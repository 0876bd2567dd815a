//! Each company's address book in memory: its directories, its people as contacts, and their search index.
//!
//! Freshness: a request reads the users version of each of the company's directories
//! ([`AddressBookStore::users_versions`], one strongly consistent read; every user write changes its directory's
//! version in its own transaction). Equal versions: the book in memory is current. Different: the book is rebuilt
//! from the store, each user read once. So an answer never misses a write acknowledged before the request
//! began. The list of a company's directories is re-read at most every [`DIRECTORIES_TTL`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fd_contacts::Contact;
use fd_shared::scim::manager::display_name_key;
use fd_shared::store::{AddressBookStore, Company, Directory, StoreError};
use tokio::sync::Mutex;

/// How long a company's list of directories is trusted before it is read again.
pub const DIRECTORIES_TTL: Duration = Duration::from_secs(30);

/// One company's people, searchable.
#[derive(Debug)]
pub struct CompanyBook {
    /// The company.
    pub company: Company,
    /// Its directories, ordered by name.
    pub directories: Vec<Directory>,
    /// The search index over every person of every directory.
    pub index: fd_search::Index,
    /// Each person's contact view, by id.
    pub contacts: HashMap<String, Contact>,
    versions: Vec<u64>,
    directories_read: Instant,
}

impl CompanyBook {
    /// A person of the company by id (`None` for anyone else's id: another company's people do not exist here).
    pub fn contact(&self, id: &str) -> Option<&Contact> {
        self.contacts.get(id)
    }

    /// The directory's name, for a directory of this company.
    pub fn directory_name(&self, id: &str) -> Option<&str> {
        self.directories.iter().find(|d| d.id == id).map(|d| d.name.as_str())
    }
}

/// The address books of every company this process has served. Each company has its own lock: a rebuild waits
/// only for requests of that company, and concurrent requests that find the book stale rebuild it once.
pub struct Books {
    store: Arc<dyn AddressBookStore>,
    users_url: String,
    cache: std::sync::Mutex<HashMap<String, Slot>>,
}

/// One company's book, once built, behind the lock its rebuilds take.
type Slot = Arc<Mutex<Option<Arc<CompanyBook>>>>;

impl Books {
    /// Books over `store`; `users_url` is the SCIM Users URL resources are rendered against.
    pub fn new(store: Arc<dyn AddressBookStore>, users_url: String) -> Self {
        Self { store, users_url, cache: std::sync::Mutex::new(HashMap::new()) }
    }

    /// The company's current book (`company_key` as [`Directory::company_key`] gives it).
    pub async fn company(&self, company_key: &str) -> Result<Arc<CompanyBook>, StoreError> {
        let slot = {
            let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(cache.entry(company_key.to_string()).or_default())
        };
        let mut slot = slot.lock().await;
        let cached = slot.clone();
        let directories = match &cached {
            Some(book) if book.directories_read.elapsed() < DIRECTORIES_TTL => book.directories.clone(),
            _ => self.store.company_directories(company_key).await?,
        };
        let ids: Vec<String> = directories.iter().map(|d| d.id.clone()).collect();
        let versions = self.store.users_versions(&ids).await?;
        if let Some(book) = cached {
            if book.directories == directories && book.versions == versions {
                return Ok(book);
            }
        }
        let company = self.store.find_company(company_key).await?.ok_or(StoreError::NotFound)?;
        let book = Arc::new(self.build(company, directories, versions).await?);
        *slot = Some(Arc::clone(&book));
        Ok(book)
    }

    async fn build(
        &self,
        company: Company,
        directories: Vec<Directory>,
        versions: Vec<u64>,
    ) -> Result<CompanyBook, StoreError> {
        let started = Instant::now();
        let mut contacts = HashMap::new();
        let mut searchable = Vec::new();
        for directory in &directories {
            let mut people: Vec<(String, Contact)> = Vec::new();
            for user in self.store.directory_users(&directory.id).await? {
                let resource = user.into_scim(&self.users_url);
                let contact = Contact::from_scim(&resource);
                if let Some(id) = contact.id.clone() {
                    people.push((id, contact));
                }
            }
            link_managers(&mut people);
            for (id, contact) in people {
                searchable.push(search_contact(&id, &directory.id, &contact));
                contacts.insert(id, contact);
            }
        }
        let index = fd_search::Index::build(searchable);
        tracing::info!(
            people = contacts.len(),
            directories = directories.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "address book built"
        );
        Ok(CompanyBook { company, directories, index, contacts, versions, directories_read: Instant::now() })
    }
}

/// Links each manager given by display name only (Okta sends no id; the SCIM create stores the name as sent) to
/// the one person of the same directory with that name, compared as the server compares names. A name that
/// several people share, or nobody has, stays a name.
fn link_managers(people: &mut [(String, Contact)]) {
    let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
    for (id, contact) in people.iter() {
        by_name.entry(display_name_key(&contact.display_name)).or_default().push(id.clone());
    }
    for (_, contact) in people.iter_mut() {
        if let Some(manager) = contact.manager.as_mut().filter(|m| m.id.is_none()) {
            if let Some([only]) = by_name.get(&display_name_key(&manager.display_name)).map(Vec::as_slice) {
                manager.id = Some(only.clone());
            }
        }
    }
}

/// The searchable view of a contact.
fn search_contact(id: &str, directory: &str, contact: &Contact) -> fd_search::Contact {
    fd_search::Contact {
        id: id.to_string(),
        directory: directory.to_string(),
        display_name: contact.display_name.clone(),
        given_name: contact.given_name.clone(),
        family_name: contact.family_name.clone(),
        nick_name: contact.nick_name.clone(),
        user_name: contact.user_name.clone().unwrap_or_default(),
        emails: contact.emails.iter().map(|e| e.value.clone()).collect(),
        primary_email: contact.primary_email().map(|e| e.value.clone()),
        phones: contact.phones.iter().map(|p| p.value.clone()).collect(),
        primary_phone: contact.primary_phone().map(|p| p.value.clone()),
        title: contact.title.clone(),
        department: contact.department.clone(),
        division: contact.division.clone(),
        employee_number: contact.employee_number.clone(),
        manager_id: contact.manager.as_ref().and_then(|m| m.id.clone()),
        active: contact.active,
    }
}
