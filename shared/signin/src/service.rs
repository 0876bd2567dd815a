//! The sign-in operations over a store: the ACS, SP-initiated login, SP metadata and `/me`.
//!
//! Every value taken from a SAML response comes from [`fd_saml::validate_response`], which verifies the
//! signature with this directory's certificates only and parses only the signed bytes. This module adds what
//! needs state: the directory's configuration, outstanding AuthnRequests (each answered once), the replay
//! cache (each assertion accepted once), the user lookup (active users only) and the session.

use crate::config::validation_policy;
use crate::endpoints::SpEndpoints;
use crate::relay;
use crate::session::{OutstandingRequest, Session, SessionKey};
use fd_saml::{MAX_ENCODED_RESPONSE_LEN, MAX_RELAY_STATE_LEN, SamlError};
use fd_shared::auth::is_id;
use fd_shared::scim::user::UserRecord;
use fd_shared::secret::SecretSource;
use fd_shared::store::{SessionLookup, SessionRecord, SessionStore, SignInStore, Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;

/// How long an AuthnRequest id waits for its answer.
pub const REQUEST_LIFETIME: time::Duration = time::Duration::minutes(10);
/// Largest ACS request body looked at: the encoded response limit, percent-encoded, plus RelayState.
pub const MAX_FORM_BYTES: usize = 3 * MAX_ENCODED_RESPONSE_LEN + 8 * 1024;
/// Longest RelayState followed (longer ones are ignored: the user lands on `/`).
pub const MAX_RELAY_STATE_FOLLOWED: usize = 1024;
/// Media type of SP metadata.
pub const METADATA_CONTENT_TYPE: &str = "application/samlmetadata+xml";

/// What to answer.
#[derive(Debug, Clone, PartialEq)]
pub enum SignInResponse {
    /// `303 See Other` to `location`, setting the session cookie when signed in.
    Redirect { location: String, set_cookies: Vec<String> },
    /// `200` SP metadata XML.
    Metadata(String),
    /// `200` the signed-in user's SCIM resource.
    Me { resource: serde_json::Value, etag: String },
    /// `401` on `/me`: no valid session, or the user is gone or deactivated.
    Unauthenticated,
    /// A refusal: status and a short plain-text message (the reason is logged, never shown).
    Refused { status: u16, message: &'static str },
}

/// The session could not be checked (the store or the session key is unavailable): answer 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sign-in is temporarily unavailable")]
pub struct SignInUnavailable;

/// Why a request was refused; logged, never shown to the client.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("not a SAML response: {0}")]
    NotSaml(&'static str),
    #[error("no such directory")]
    NoDirectory,
    #[error("the directory has no SAML configuration")]
    NotConfigured,
    #[error("stored SAML configuration is unusable: {0}")]
    BadConfig(fd_saml::ConfigError),
    /// Logged by kind only: the message may quote values from the response.
    #[error("SAML response refused: {}", .0.kind())]
    Saml(SamlError),
    #[error("InResponseTo names no outstanding request of this directory")]
    UnknownRequest,
    #[error("assertion already used (replay)")]
    Replay,
    #[error("no user of this directory has the asserted userName")]
    UnknownUser,
    #[error("the NameID is not a valid userName (identity rule)")]
    InvalidNameId,
    #[error("the user is deactivated")]
    Inactive,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("session key: {0}")]
    SessionKey(String),
}

impl Refusal {
    fn response(&self) -> SignInResponse {
        let (status, message) = match self {
            Refusal::NotSaml(_) => (400, "Not a SAML response."),
            Refusal::Saml(e) if e.http_status() == 400 => (400, "Not a SAML response."),
            Refusal::NoDirectory => (404, "Not found."),
            Refusal::Store(_) | Refusal::SessionKey(_) => (503, "Sign-in is temporarily unavailable."),
            _ => (403, "Sign-in failed."),
        };
        SignInResponse::Refused { status, message }
    }

    fn log(&self, directory: &str, operation: &'static str) {
        match self {
            Refusal::Store(_) | Refusal::SessionKey(_) | Refusal::BadConfig(_) => {
                tracing::error!(directory, operation, reason = %self, "sign-in unavailable")
            }
            _ => tracing::warn!(directory, operation, reason = %self, "sign-in refused"),
        }
    }
}

/// Sign-in over a store, for one deployment (one public base URL).
pub struct SignInService {
    store: Arc<dyn SignInStore>,
    sessions: Arc<dyn SessionStore>,
    session_secret: SecretSource<String>,
    endpoints: SpEndpoints,
}

/// A request's signed-in user: the session (cookie and stored record) and the user, active at this request.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session as the cookie names it.
    pub session: Session,
    /// The session as the store keeps it.
    pub record: SessionRecord,
    /// The user, read at this request.
    pub user: UserRecord,
    key: SessionKey,
}

impl SignedIn {
    /// The CSRF token every state-changing form of this session carries.
    pub fn csrf_token(&self) -> String {
        self.session.csrf_token(&self.key)
    }

    /// Whether `token` is this session's CSRF token.
    pub fn csrf_matches(&self, token: &str) -> bool {
        self.session.csrf_matches(&self.key, token)
    }
}

/// Logs why a session could not be checked, and answers 503.
fn session_unavailable(directory: &str) -> impl FnOnce(Refusal) -> SignInUnavailable + '_ {
    move |refusal| {
        refusal.log(directory, "session");
        SignInUnavailable
    }
}

/// A session cookie opened with the session key, before the store confirms the session.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    session: Session,
    id_hash: String,
    key: SessionKey,
}

impl OpenedSession {
    /// What to read from the store for this session, at `now`.
    pub fn lookup(&self, now: OffsetDateTime) -> SessionLookup<'_> {
        SessionLookup {
            directory: &self.session.directory,
            user_id: &self.session.user_id,
            id_hash: &self.id_hash,
            now: now.unix_timestamp(),
        }
    }

    /// The directory the session was opened in.
    pub fn directory(&self) -> &str {
        &self.session.directory
    }
}

/// Touch a session's `last_used` at most this often (seconds): a page view is not always a write.
const TOUCH_INTERVAL: i64 = 60;

impl SignInService {
    /// A service over `store`, signing sessions with the key text from `session_secret`.
    pub fn new(store: Arc<dyn Store>, session_secret: SecretSource<String>, endpoints: SpEndpoints) -> Self {
        Self { store: store.clone(), sessions: store, session_secret, endpoints }
    }

    /// The deployment's public endpoints.
    pub fn endpoints(&self) -> &SpEndpoints {
        &self.endpoints
    }

    /// The signed-in user of a request, from its `Cookie` header: `Ok(None)` without a valid session (no cookie,
    /// two cookies, a forged or expired one, a session ended on the server or idle too long, a user gone or
    /// deactivated). A session whose user is no longer active is ended on the spot.
    pub async fn signed_in(
        &self,
        cookie_header: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<SignedIn>, SignInUnavailable> {
        self.try_signed_in(cookie_header, now).await.map_err(session_unavailable(""))
    }

    async fn try_signed_in(
        &self,
        cookie_header: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<SignedIn>, Refusal> {
        let Some(opened) = self.try_open_session(cookie_header, now).await? else {
            return Ok(None);
        };
        let lookup = opened.lookup(now);
        let record = self.sessions.get_session(lookup.directory, lookup.user_id, lookup.id_hash, lookup.now).await?;
        let user = match record {
            Some(_) => self.store.session_user(lookup.directory, lookup.user_id).await?,
            None => None,
        };
        self.try_admit(opened, record, user, now).await
    }

    /// The session a request's `Cookie` header names, opened but not yet confirmed by the store: `Ok(None)` without
    /// one (no cookie, two cookies, a forged or expired one). Read the [`OpenedSession::lookup`], then
    /// [`SignInService::admit`] what the store said.
    pub async fn open_session(
        &self,
        cookie_header: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<OpenedSession>, SignInUnavailable> {
        self.try_open_session(cookie_header, now).await.map_err(session_unavailable(""))
    }

    async fn try_open_session(
        &self,
        cookie_header: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<OpenedSession>, Refusal> {
        let Some(value) = cookie_header.and_then(crate::session::cookie_value) else {
            return Ok(None);
        };
        let key = self.session_key().await?;
        let Some(session) = Session::open(value, &key, now.unix_timestamp()) else {
            return Ok(None);
        };
        let id_hash = session.id_hash();
        Ok(Some(OpenedSession { session, id_hash, key }))
    }

    /// The signed-in user, from an opened session and what the store holds for it (`record`: the session if it
    /// exists unexpired and not ended; `user`: its user). `Ok(None)` when the session is gone, idle too long, or its
    /// user gone or deactivated; such a session is ended on the spot. Records the request under the session at
    /// most once a minute.
    pub async fn admit(
        &self,
        opened: OpenedSession,
        record: Option<SessionRecord>,
        user: Option<UserRecord>,
        now: OffsetDateTime,
    ) -> Result<Option<SignedIn>, SignInUnavailable> {
        let directory = opened.session.directory.clone();
        self.try_admit(opened, record, user, now).await.map_err(session_unavailable(&directory))
    }

    async fn try_admit(
        &self,
        opened: OpenedSession,
        record: Option<SessionRecord>,
        user: Option<UserRecord>,
        now: OffsetDateTime,
    ) -> Result<Option<SignedIn>, Refusal> {
        let OpenedSession { session, id_hash, key } = opened;
        let now = now.unix_timestamp();
        let Some(record) = record else {
            return Ok(None);
        };
        if now - record.last_used > crate::session::IDLE_TIMEOUT.whole_seconds() {
            self.sessions.end_session(&session.directory, &session.user_id, &id_hash).await?;
            return Ok(None);
        }
        let user = match user {
            Some(user) if user.doc.active() && user.id == session.user_id => user,
            _ => {
                self.sessions.end_session(&session.directory, &session.user_id, &id_hash).await?;
                return Ok(None);
            }
        };
        if now - record.last_used >= TOUCH_INTERVAL {
            self.sessions.touch_session(&session.directory, &session.user_id, &id_hash, now).await?;
        }
        Ok(Some(SignedIn { session, record, user, key }))
    }

    /// The signed-in user's unexpired sessions, most recently used first.
    pub async fn sessions_of(
        &self,
        signed_in: &SignedIn,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionRecord>, SignInUnavailable> {
        let session = &signed_in.session;
        self.sessions.list_sessions(&session.directory, &session.user_id, now.unix_timestamp()).await.map_err(|e| {
            Refusal::Store(e).log(&session.directory, "sessions");
            SignInUnavailable
        })
    }

    /// Ends one of the signed-in user's sessions (their own current one when `id_hash` is its hash: sign out).
    pub async fn end_session(&self, signed_in: &SignedIn, id_hash: &str) -> Result<bool, SignInUnavailable> {
        let session = &signed_in.session;
        self.sessions.end_session(&session.directory, &session.user_id, id_hash).await.map_err(|e| {
            Refusal::Store(e).log(&session.directory, "end session");
            SignInUnavailable
        })
    }

    /// `POST /saml/{directory}/acs`: the HTTP-POST binding form (`SAMLResponse`, optional `RelayState`).
    pub async fn acs(
        &self,
        directory: &str,
        content_type: Option<&str>,
        body: &[u8],
        cookie_header: Option<&str>,
        user_agent: Option<&str>,
        now: OffsetDateTime,
    ) -> SignInResponse {
        match self.try_acs(directory, content_type, body, cookie_header, user_agent, now).await {
            Ok(response) => response,
            Err(refusal) => {
                refusal.log(directory, "acs");
                refusal.response()
            }
        }
    }

    async fn try_acs(
        &self,
        directory: &str,
        content_type: Option<&str>,
        body: &[u8],
        cookie_header: Option<&str>,
        user_agent: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<SignInResponse, Refusal> {
        let form = PostForm::parse(content_type, body)?;
        if !is_id(directory) {
            return Err(Refusal::NotConfigured);
        }
        let config = self.store.sign_in_config(directory).await?.ok_or(Refusal::NotConfigured)?;
        let policy = validation_policy(&self.endpoints, directory, &config).map_err(Refusal::BadConfig)?;
        let verified =
            fd_saml::validate_response(form.saml_response.as_bytes(), &policy, now).map_err(Refusal::Saml)?;
        let now_unix = now.unix_timestamp();
        if let Some(request_id) = &verified.in_response_to {
            // An answer to a request this browser started here, answered once.
            let key = self.session_key().await?;
            let outstanding = cookie_header.and_then(|header| OutstandingRequest::open(header, &key, now_unix));
            let Some(outstanding) = outstanding.filter(|o| o.directory == directory && o.request_id == *request_id)
            else {
                return Err(Refusal::UnknownRequest);
            };
            let once = format!("request:{}", outstanding.request_id);
            if !self.store.record_assertion(directory, &once, outstanding.expires_at, now_unix).await? {
                return Err(Refusal::UnknownRequest);
            }
        }
        let keep_until = (verified.not_on_or_after + policy.clock_skew).unix_timestamp();
        if !self.store.record_assertion(directory, &verified.assertion_id, keep_until, now_unix).await? {
            return Err(Refusal::Replay);
        }
        // The NameID must be a valid userName under the identity rule, and name the user exactly under it: a
        // look-alike (KELVIN SIGN for K, fullwidth forms, invisible characters) never signs in as someone else.
        fd_input::check_user_name(&verified.name_id).map_err(|_| Refusal::InvalidNameId)?;
        let user = self.store.sign_in_user(directory, &verified.name_id).await?.ok_or(Refusal::UnknownUser)?;
        if !fd_input::same_identity(&verified.name_id, user.doc.user_name()) {
            return Err(Refusal::UnknownUser);
        }
        if !user.doc.active() {
            return Err(Refusal::Inactive);
        }
        let key = self.session_key().await?;
        // A new session at every sign-in (no fixation): the id is fresh, and the store keeps only its hash.
        let expires_at = (now + crate::session::SESSION_LIFETIME).unix_timestamp();
        let session = Session::new(directory, &user.id, expires_at);
        self.sessions
            .create_session(&SessionRecord {
                id_hash: session.id_hash(),
                directory: directory.to_string(),
                user_id: user.id.clone(),
                created: now_unix,
                last_used: now_unix,
                expires_at,
                device: crate::session::device_label(user_agent),
            })
            .await?;
        let relay_state = form.relay_state.as_deref().filter(|r| r.len() <= MAX_RELAY_STATE_FOLLOWED);
        let location = relay::redirect_target(relay_state, &config.relay_state_allow_list);
        tracing::info!(
            directory,
            user_id = %user.id,
            signed_response = verified.signed.response,
            signed_assertion = verified.signed.assertion,
            sp_initiated = verified.in_response_to.is_some(),
            "signed in"
        );
        let mut set_cookies = vec![session.set_cookie(&key, now_unix)];
        if verified.in_response_to.is_some() {
            set_cookies.push(OutstandingRequest::clear_cookie(directory));
        }
        Ok(SignInResponse::Redirect { location, set_cookies })
    }

    /// `GET /saml/{directory}/login`: SP-initiated sign-in, an AuthnRequest by HTTP-Redirect to the IdP.
    pub async fn login(&self, directory: &str, relay_state: Option<&str>, now: OffsetDateTime) -> SignInResponse {
        match self.try_login(directory, relay_state, now).await {
            Ok(response) => response,
            Err(refusal) => {
                refusal.log(directory, "login");
                match refusal {
                    Refusal::NotConfigured => {
                        SignInResponse::Refused { status: 404, message: "Sign-in is not configured." }
                    }
                    other => other.response(),
                }
            }
        }
    }

    async fn try_login(
        &self,
        directory: &str,
        relay_state: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<SignInResponse, Refusal> {
        if !is_id(directory) {
            return Err(Refusal::NotConfigured);
        }
        let config = self.store.sign_in_config(directory).await?.ok_or(Refusal::NotConfigured)?;
        let relay_state = relay_state
            .filter(|r| r.len() <= MAX_RELAY_STATE_LEN && relay::is_acceptable(r, &config.relay_state_allow_list));
        let request_id = fd_saml::new_request_id();
        let sp = self.endpoints.sp_settings(directory);
        let redirect = fd_saml::authn_request_redirect(&sp, &config.login_url, &request_id, relay_state, now)
            .map_err(Refusal::BadConfig)?;
        // Nothing is stored: the request travels in a sealed cookie bound to this browser (an anonymous request
        // costs no write), and the ACS consumes it in the replay cache once a signed answer arrives.
        let key = self.session_key().await?;
        let outstanding = OutstandingRequest {
            directory: directory.to_string(),
            request_id,
            expires_at: (now + REQUEST_LIFETIME).unix_timestamp(),
        };
        let set_cookie = outstanding.set_cookie(&key, now.unix_timestamp());
        Ok(SignInResponse::Redirect { location: redirect.url, set_cookies: vec![set_cookie] })
    }

    /// `GET /saml/{directory}/metadata`: the SP metadata (entity id, ACS URL, NameID format).
    pub async fn metadata(&self, directory: &str) -> SignInResponse {
        let result = async {
            if !is_id(directory) || !self.store.directory_exists(directory).await? {
                return Err(Refusal::NoDirectory);
            }
            fd_saml::sp_metadata_xml(&self.endpoints.sp_settings(directory)).map_err(Refusal::BadConfig)
        };
        match result.await {
            Ok(xml) => SignInResponse::Metadata(xml),
            Err(refusal) => {
                refusal.log(directory, "metadata");
                refusal.response()
            }
        }
    }

    /// `GET /me`: the signed-in user's SCIM resource, looked up afresh (a deactivated user is refused).
    pub async fn me(&self, cookie_header: Option<&str>, now: OffsetDateTime) -> SignInResponse {
        match self.try_signed_in(cookie_header, now).await {
            Ok(Some(signed_in)) => {
                let etag = signed_in.user.etag();
                SignInResponse::Me { resource: signed_in.user.into_scim(&self.endpoints.users_url()), etag }
            }
            Ok(None) => SignInResponse::Unauthenticated,
            Err(refusal) => {
                refusal.log("", "me");
                refusal.response()
            }
        }
    }

    async fn session_key(&self) -> Result<SessionKey, Refusal> {
        let text = self.session_secret.get().await.map_err(Refusal::SessionKey)?;
        SessionKey::new(text.as_bytes().to_vec()).map_err(|e| Refusal::SessionKey(e.to_string()))
    }
}

/// The HTTP-POST binding's form fields.
struct PostForm {
    saml_response: String,
    relay_state: Option<String>,
}

impl PostForm {
    fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, Refusal> {
        let media_type = content_type.and_then(|c| c.split(';').next()).map(str::trim);
        if !media_type.is_some_and(|m| m.eq_ignore_ascii_case("application/x-www-form-urlencoded")) {
            return Err(Refusal::NotSaml("not a form post"));
        }
        if body.len() > MAX_FORM_BYTES {
            return Err(Refusal::NotSaml("request body too large"));
        }
        let mut saml_response = None;
        let mut relay_state = None;
        for (name, value) in form_urlencoded::parse(body) {
            let slot = match name.as_ref() {
                "SAMLResponse" => &mut saml_response,
                "RelayState" => &mut relay_state,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(Refusal::NotSaml("repeated form field"));
            }
        }
        let saml_response = saml_response.ok_or(Refusal::NotSaml("no SAMLResponse field"))?;
        Ok(Self { saml_response, relay_state })
    }
}
