//! What the nodes of one deployment tell each other: interview activity (for job pages on
//! every node), ended logins (to close their streams wherever they are open) and revoked
//! invites (to close the candidate's socket on the node that runs the interview).
//!
//! One mechanism: PostgreSQL's LISTEN/NOTIFY on the database every node already shares. With
//! SQLite there is one node and nothing to tell. A message is at most once: a node that is
//! disconnected from the database misses what was said meanwhile (streams re-check their login
//! on every heartbeat, and a job page reloads its table when its stream reconnects).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::db::{DbConn, DbPool};

/// The PostgreSQL notification channel every node listens on.
const CHANNEL: &str = "viva_cluster";
/// Messages from other nodes not yet taken by their topic's follower.
const BACKLOG: usize = 1024;
/// Longest wait between attempts to listen again after the connection was lost.
const MAX_RECONNECT_WAIT: Duration = Duration::from_secs(10);

/// A message on the wire: the sending node, the topic, and the topic's own JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Envelope {
    from: String,
    topic: String,
    body: serde_json::Value,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    node: String,
    outgoing: mpsc::UnboundedSender<String>,
    incoming: broadcast::Sender<Envelope>,
    /// The listener's connection is up.
    listening: Arc<AtomicBool>,
}

impl Bus {
    /// A node on its own: nothing is sent, nothing arrives.
    pub fn single_node() -> Self {
        Self { shared: None }
    }

    /// The bus of a deployment on PostgreSQL (`url`, the database `pool` is on), for the node
    /// named `node`. Spawns the listener and the sender on the current runtime.
    pub fn postgres(url: SecretString, pool: DbPool, node: &str) -> Self {
        let (outgoing, queued) = mpsc::unbounded_channel();
        let incoming = broadcast::channel(BACKLOG).0;
        let listening = Arc::new(AtomicBool::new(false));
        actix_web::rt::spawn(send_each(pool, queued));
        actix_web::rt::spawn(listen(
            url,
            node.to_owned(),
            incoming.clone(),
            listening.clone(),
        ));
        Self {
            shared: Some(Arc::new(Shared {
                node: node.to_owned(),
                outgoing,
                incoming,
                listening,
            })),
        }
    }

    /// `None` on a single node; otherwise whether this node hears the others now.
    pub fn is_listening(&self) -> Option<bool> {
        self.shared
            .as_ref()
            .map(|shared| shared.listening.load(Ordering::SeqCst))
    }

    /// For a deployment on `pool`'s database: [`Bus::postgres`] on PostgreSQL, otherwise
    /// [`Bus::single_node`].
    pub fn for_database(pool: &DbPool, url: Option<SecretString>, node: &str) -> Self {
        match (pool, url) {
            (DbPool::Postgres(_), Some(url)) => Self::postgres(url, pool.clone(), node),
            _ => Self::single_node(),
        }
    }

    /// Tells every other node `body` under `topic` (this node acts on it itself, directly).
    pub fn tell_others<T: Serialize>(&self, topic: &'static str, body: &T) {
        let Some(shared) = &self.shared else {
            return;
        };
        let envelope = Envelope {
            from: shared.node.clone(),
            topic: topic.to_owned(),
            body: match serde_json::to_value(body) {
                Ok(body) => body,
                Err(e) => {
                    tracing::error!(topic, error = %e, "a cluster message could not be written");
                    return;
                }
            },
        };
        match serde_json::to_string(&envelope) {
            // The sender task ends only with the runtime.
            Ok(text) => {
                let _ = shared.outgoing.send(text);
            }
            Err(e) => tracing::error!(topic, error = %e, "a cluster message could not be written"),
        }
    }

    /// Calls `handle` with every message other nodes send under `topic`, on a task of its
    /// own, for as long as the runtime runs. Does nothing on a single node.
    pub fn on_message<T, F>(&self, topic: &'static str, mut handle: F)
    where
        T: DeserializeOwned + 'static,
        F: FnMut(T) + 'static,
    {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut incoming = shared.incoming.subscribe();
        actix_web::rt::spawn(async move {
            loop {
                match incoming.recv().await {
                    Ok(envelope) if envelope.topic == topic => {
                        match serde_json::from_value::<T>(envelope.body) {
                            Ok(message) => handle(message),
                            Err(e) => {
                                tracing::warn!(topic, from = envelope.from, error = %e, "an unreadable cluster message was dropped")
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            topic,
                            missed,
                            "cluster messages were missed (too many at once)"
                        );
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}

/// Sends the queued messages in order, each with `pg_notify` on a pooled connection.
async fn send_each(pool: DbPool, mut queued: mpsc::UnboundedReceiver<String>) {
    use diesel_async::RunQueryDsl;
    while let Some(text) = queued.recv().await {
        let sent = async {
            let mut conn = pool.get().await?;
            if let DbConn::Postgres(conn) = &mut conn {
                diesel::sql_query("SELECT pg_notify($1, $2)")
                    .bind::<diesel::sql_types::Text, _>(CHANNEL)
                    .bind::<diesel::sql_types::Text, _>(&text)
                    .execute(&mut **conn)
                    .await?;
            }
            Ok::<_, crate::db::DbError>(())
        };
        if let Err(e) = sent.await {
            tracing::warn!(error = %e, "a cluster message could not be sent; other nodes miss it");
        }
    }
}

/// Listens on its own connection (a pooled one would be handed to queries), and again after
/// every loss of it, passing other nodes' messages to `incoming`.
async fn listen(
    url: SecretString,
    node: String,
    incoming: broadcast::Sender<Envelope>,
    listening: Arc<AtomicBool>,
) {
    const FIRST_WAIT: Duration = Duration::from_millis(250);
    let mut wait = FIRST_WAIT;
    loop {
        let outcome = listen_once(&url, &node, &incoming, &listening).await;
        if listening.swap(false, Ordering::SeqCst) {
            // It had worked: the next loss starts the waits afresh.
            wait = FIRST_WAIT;
        }
        match outcome {
            Ok(()) => tracing::warn!("the cluster listener's connection closed; listening again"),
            Err(e) => tracing::warn!(error = %e, "the cluster listener failed; listening again"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_RECONNECT_WAIT);
    }
}

async fn listen_once(
    url: &SecretString,
    node: &str,
    incoming: &broadcast::Sender<Envelope>,
    listening: &AtomicBool,
) -> Result<(), diesel::result::Error> {
    use diesel_async::RunQueryDsl;
    let mut conn = AsyncPgConnection::establish(url.expose_secret())
        .await
        .map_err(|e| {
            diesel::result::Error::QueryBuilderError(format!("cannot connect: {e}").into())
        })?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await?;
    listening.store(true, Ordering::SeqCst);
    tracing::info!(node, "listening to the other nodes");
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        let notification = notification?;
        match serde_json::from_str::<Envelope>(&notification.payload) {
            Ok(envelope) if envelope.from == node => {}
            // No follower for a topic is not an error.
            Ok(envelope) => {
                let _ = incoming.send(envelope);
            }
            Err(e) => tracing::warn!(error = %e, "an unreadable cluster notification was dropped"),
        }
    }
    Ok(())
}
