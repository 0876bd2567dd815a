//! Each company's address book in memory: its directories, its people as contacts, and their search index.
//!
//! Freshness: every signed-in request reads, together with its session, the [`UsersVersion`] of each of the
//! company's directories (strongly consistent; every user write changes its directory's version in its own
//! transaction): see [`AddressBookStore::session_and_versions`]. Against the versions the book last applied, the
//! changes name the users written since (read again by id and applied to the index one by one), or, past what the
//! store remembers, the shards to read again. A book is built from scratch only the first time, or when the
//! company's directories change. So an answer never misses a write acknowledged before the request began, and a
//! write costs a warm book one read of the users it wrote. The list of a company's directories is re-read at most
//! every [`DIRECTORIES_TTL`]; a directory's company never changes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use fd_contacts::Contact;
use fd_shared::scim::manager::display_name_key;
use fd_shared::scim::user::UserRecord;
use fd_shared::store::{AddressBookStore, Company, Directory, StoreError, UsersChanges, UsersVersion};
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
    /// Each person's contact view, by id, with the manager linked where the name names one person.
    pub contacts: HashMap<String, Contact>,
    /// Per directory (in [`CompanyBook::directories`] order): the versions applied.
    versions: Vec<UsersVersion>,
    /// Each person's directory and the version of their user applied.
    people: HashMap<String, (String, u64)>,
    links: ManagerLinks,
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

    /// The ids of the company's directories, in order.
    fn directory_ids(&self) -> Vec<String> {
        self.directories.iter().map(|d| d.id.clone()).collect()
    }
}

/// A company's book, shared by the requests that read it; a refresh takes the write lock only to apply changes
/// already read from the store.
pub type SharedBook = Arc<RwLock<CompanyBook>>;

/// Reads a shared book (a panic elsewhere cannot leave it half-changed in a way readers could see: see
/// [`CompanyBook`] updates, which change one person at a time).
pub fn read(book: &SharedBook) -> RwLockReadGuard<'_, CompanyBook> {
    book.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(book: &SharedBook) -> RwLockWriteGuard<'_, CompanyBook> {
    book.write().unwrap_or_else(PoisonError::into_inner)
}

/// What a request needs to read with its session: the company's directories and the versions its book has applied.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The company's key.
    pub company_key: String,
    /// The company's directory ids, in order.
    pub directories: Vec<String>,
    /// The versions the book has applied, one per directory (empty when there is no book yet).
    pub known: Vec<UsersVersion>,
    fresh_directories: Option<Vec<Directory>>,
}

/// The address books of every company this process has served. Each company has its own lock: a refresh waits
/// only for requests of that company, and concurrent requests that find the book stale refresh it once.
pub struct Books {
    store: Arc<dyn AddressBookStore>,
    users_url: String,
    companies: std::sync::Mutex<HashMap<String, Slot>>,
    directory_companies: std::sync::Mutex<HashMap<String, String>>,
}

/// One company's book, once built, behind the lock its refreshes take.
type Slot = Arc<Mutex<Option<SharedBook>>>;

impl Books {
    /// Books over `store`; `users_url` is the SCIM Users URL resources are rendered against.
    pub fn new(store: Arc<dyn AddressBookStore>, users_url: String) -> Self {
        Self {
            store,
            users_url,
            companies: std::sync::Mutex::new(HashMap::new()),
            directory_companies: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The key of a directory's company (read once per directory: it never changes), `None` for no directory.
    pub async fn company_of(&self, directory: &str) -> Result<Option<String>, StoreError> {
        if let Some(key) = self.directory_companies.lock().unwrap_or_else(PoisonError::into_inner).get(directory) {
            return Ok(Some(key.clone()));
        }
        let Some(found) = self.store.find_directory(directory).await? else {
            return Ok(None);
        };
        let key = found.company_key();
        self.directory_companies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(directory.to_string(), key.clone());
        Ok(Some(key))
    }

    fn slot(&self, company_key: &str) -> Slot {
        let mut companies = self.companies.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(companies.entry(company_key.to_string()).or_default())
    }

    /// The company's directories and the versions its book has applied (the directories read again when older
    /// than [`DIRECTORIES_TTL`]).
    pub async fn layout(&self, company_key: &str) -> Result<Layout, StoreError> {
        let cached = self.slot(company_key).lock().await.clone();
        if let Some(book) = &cached {
            let book = read(book);
            if book.directories_read.elapsed() < DIRECTORIES_TTL {
                return Ok(Layout {
                    company_key: company_key.to_string(),
                    directories: book.directory_ids(),
                    known: book.versions.clone(),
                    fresh_directories: None,
                });
            }
        }
        let directories = self.store.company_directories(company_key).await?;
        let ids: Vec<String> = directories.iter().map(|d| d.id.clone()).collect();
        let known = match &cached {
            Some(book) => {
                let book = read(book);
                if book.directory_ids() == ids { book.versions.clone() } else { Vec::new() }
            }
            None => Vec::new(),
        };
        Ok(Layout {
            company_key: company_key.to_string(),
            directories: ids,
            known,
            fresh_directories: Some(directories),
        })
    }

    /// The company's book, at least as new as `versions` (read for `layout`'s directories after the request
    /// began).
    pub async fn current(&self, layout: &Layout, versions: &[UsersVersion]) -> Result<SharedBook, StoreError> {
        let slot = self.slot(&layout.company_key);
        let mut slot = slot.lock().await;
        if let Some(book) = slot.clone() {
            let (same_directories, changes) = {
                let book = read(&book);
                let same = book.directory_ids() == layout.directories && book.versions.len() == versions.len();
                let changes: Vec<UsersChanges> = if same {
                    versions.iter().zip(&book.versions).map(|(now, then)| now.changes_since(then)).collect()
                } else {
                    Vec::new()
                };
                (same, changes)
            };
            if same_directories {
                self.refresh(&book, changes, versions).await?;
                if let Some(directories) = &layout.fresh_directories {
                    let mut book = write(&book);
                    book.directories.clone_from(directories);
                    book.directories_read = Instant::now();
                }
                return Ok(book);
            }
        }
        let directories = match &layout.fresh_directories {
            Some(directories) => directories.clone(),
            None => self.store.company_directories(&layout.company_key).await?,
        };
        let company = self.store.find_company(&layout.company_key).await?.ok_or(StoreError::NotFound)?;
        let versions = if directories.iter().map(|d| &d.id).eq(layout.directories.iter()) {
            versions.to_vec()
        } else {
            // The directories changed since the versions were read: read them again for this list.
            let ids: Vec<String> = directories.iter().map(|d| d.id.clone()).collect();
            self.store.users_versions(&ids, &[]).await?
        };
        let book = Arc::new(RwLock::new(self.build(company, directories, versions).await?));
        *slot = Some(Arc::clone(&book));
        Ok(book)
    }

    /// Reads the users `changes` name (one list per directory of the book) and applies them.
    async fn refresh(
        &self,
        book: &SharedBook,
        changes: Vec<UsersChanges>,
        versions: &[UsersVersion],
    ) -> Result<(), StoreError> {
        if changes.iter().all(UsersChanges::is_empty) {
            return Ok(());
        }
        let started = Instant::now();
        let directories = read(book).directory_ids();
        let mut updates = Vec::new();
        for (directory, changes) in directories.iter().zip(changes) {
            if changes.is_empty() {
                continue;
            }
            let mut users = self.store.users_by_id(directory, &changes.users).await?;
            let mut gone: Vec<String> = {
                let found: HashSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
                changes.users.iter().filter(|id| !found.contains(id.as_str())).cloned().collect()
            };
            for shard in &changes.shards {
                let shard_users = self.store.shard_users(directory, *shard).await?;
                {
                    let present: HashSet<&str> = shard_users.iter().map(|u| u.id.as_str()).collect();
                    let book = read(book);
                    gone.extend(
                        book.people
                            .iter()
                            .filter(|(id, (dir, _))| {
                                dir == directory
                                    && self.store.user_shard(id) == *shard
                                    && !present.contains(id.as_str())
                            })
                            .map(|(id, _)| id.clone()),
                    );
                }
                users.extend(shard_users);
            }
            updates.push((directory.clone(), users, gone));
        }
        let mut book = write(book);
        let mut applied = 0;
        for (directory, users, gone) in updates {
            applied += book.apply(&directory, users, &gone, &self.users_url);
        }
        book.versions = book.versions.iter().zip(versions).map(|(mine, read)| mine.newest(read)).collect();
        tracing::info!(people = applied, elapsed_ms = started.elapsed().as_millis() as u64, "address book updated");
        Ok(())
    }

    async fn build(
        &self,
        company: Company,
        directories: Vec<Directory>,
        versions: Vec<UsersVersion>,
    ) -> Result<CompanyBook, StoreError> {
        let started = Instant::now();
        let mut book = CompanyBook {
            company,
            directories,
            index: fd_search::Index::default(),
            contacts: HashMap::new(),
            versions,
            people: HashMap::new(),
            links: ManagerLinks::default(),
            directories_read: Instant::now(),
        };
        for directory in book.directory_ids() {
            for user in self.store.directory_users(&directory).await? {
                book.insert(&directory, user, &self.users_url);
            }
        }
        let ids: Vec<String> = book.contacts.keys().cloned().collect();
        for id in &ids {
            book.link(id);
        }
        book.index = fd_search::Index::build(ids.iter().filter_map(|id| book.search_contact(id)).collect());
        tracing::info!(
            people = book.contacts.len(),
            directories = book.directories.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "address book built"
        );
        Ok(book)
    }
}

/// Who names whom as manager by display name only (Okta sends no id): the people of each directory by folded
/// display name, and the people whose manager is such a name.
#[derive(Debug, Default)]
struct ManagerLinks {
    /// (directory, folded display name) → the people with that name.
    by_name: HashMap<(String, String), BTreeSet<String>>,
    /// (directory, folded manager name) → the people whose manager is given by that name only.
    naming: HashMap<(String, String), BTreeSet<String>>,
    /// The people whose manager is given by name only, with the key they name.
    named_by: HashMap<String, (String, String)>,
}

impl CompanyBook {
    /// Adds (or replaces) a person, unlinked and unindexed; returns their id. A user without an id is skipped.
    fn insert(&mut self, directory: &str, user: UserRecord, users_url: &str) -> Option<String> {
        let version = user.version;
        let contact = Contact::from_scim(&user.into_scim(users_url));
        let id = contact.id.clone()?;
        self.forget(&id);
        let name = (directory.to_string(), display_name_key(&contact.display_name));
        self.links.by_name.entry(name).or_default().insert(id.clone());
        if let Some(manager) = contact.manager.as_ref().filter(|m| m.id.is_none()) {
            let named = (directory.to_string(), display_name_key(&manager.display_name));
            self.links.naming.entry(named.clone()).or_default().insert(id.clone());
            self.links.named_by.insert(id.clone(), named);
        }
        self.people.insert(id.clone(), (directory.to_string(), version));
        self.contacts.insert(id.clone(), contact);
        Some(id)
    }

    /// Removes a person from the contacts and the link maps (not from the index); returns the (directory, folded
    /// display name) they had.
    fn forget(&mut self, id: &str) -> Option<(String, String)> {
        let (directory, _) = self.people.remove(id)?;
        let contact = self.contacts.remove(id)?;
        let name = (directory, display_name_key(&contact.display_name));
        remove_from(&mut self.links.by_name, &name, id);
        if let Some(named) = self.links.named_by.remove(id) {
            remove_from(&mut self.links.naming, &named, id);
        }
        Some(name)
    }

    /// Links a person's manager given by name only to the one person of the same directory with that name, compared
    /// as the server compares names; a name that several people share, or nobody has, stays a name. Returns
    /// whether the link changed.
    fn link(&mut self, id: &str) -> bool {
        let Some(named) = self.links.named_by.get(id) else { return false };
        let target = match self.links.by_name.get(named) {
            Some(ids) if ids.len() == 1 => ids.iter().next().cloned(),
            _ => None,
        };
        match self.contacts.get_mut(id).and_then(|c| c.manager.as_mut()) {
            Some(manager) if manager.id != target => {
                manager.id = target;
                true
            }
            _ => false,
        }
    }

    /// Applies one directory's changes read from the store: `users` written (possibly unchanged), `gone` deleted.
    /// Returns how many people changed.
    fn apply(&mut self, directory: &str, users: Vec<UserRecord>, gone: &[String], users_url: &str) -> usize {
        let mut names: HashSet<(String, String)> = HashSet::new();
        let mut changed: BTreeSet<String> = BTreeSet::new();
        for id in gone {
            if self.people.get(id).is_some_and(|(dir, _)| dir == directory) {
                names.extend(self.forget(id));
                self.index.remove(id);
                changed.insert(id.clone());
            }
        }
        for user in users {
            let unchanged = self.people.get(&user.id).is_some_and(|(dir, v)| dir == directory && *v == user.version);
            if unchanged {
                continue;
            }
            names.extend(self.forget(&user.id));
            if let Some(id) = self.insert(directory, user, users_url) {
                if let Some(contact) = self.contacts.get(&id) {
                    names.insert((directory.to_string(), display_name_key(&contact.display_name)));
                }
                changed.insert(id);
            }
        }
        // The people who name a changed name as their manager may now link to someone else.
        let mut relink: BTreeSet<String> =
            changed.iter().filter(|id| self.contacts.contains_key(*id)).cloned().collect();
        for name in &names {
            relink.extend(self.links.naming.get(name).into_iter().flatten().cloned());
        }
        for id in &relink {
            let linked = self.link(id);
            if linked || changed.contains(id) {
                if let Some(contact) = self.search_contact(id) {
                    self.index.upsert(contact);
                }
            }
        }
        changed.len()
    }

    /// The searchable view of a person.
    fn search_contact(&self, id: &str) -> Option<fd_search::Contact> {
        let contact = self.contacts.get(id)?;
        let (directory, _) = self.people.get(id)?;
        Some(fd_search::Contact {
            id: id.to_string(),
            directory: directory.clone(),
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
        })
    }
}

fn remove_from(map: &mut HashMap<(String, String), BTreeSet<String>>, key: &(String, String), id: &str) {
    if let Some(ids) = map.get_mut(key) {
        ids.remove(id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}
