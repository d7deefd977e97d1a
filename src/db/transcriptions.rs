//! Queries on `transcriptions`: batch transcription tasks, their progress and results.
//!
//! A task belongs to the node that received its upload (`node`): that node holds the recording
//! on its own disk, so the queries that work through a queue take the [`Queue`] they work on.
//! Reading, listing and deleting a task are the same from every node.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::transcriptions;
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{AudioFormat, TranscriptionId, TranscriptionStatus, UserId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = transcriptions)]
pub struct TranscriptionRow {
    pub id: TranscriptionId,
    pub owner_id: UserId,
    pub status: TranscriptionStatus,
    /// The name the client gave, cleaned; for display only.
    pub filename: String,
    /// Sniffed from the bytes.
    pub format: AudioFormat,
    pub size_bytes: i64,
    pub duration_ms: i64,
    /// Pieces the audio was cut into (`None` until it runs).
    pub segments_total: Option<i32>,
    pub segments_done: i32,
    pub text: Option<String>,
    /// JSON `[{"start", "end", "text"}]`.
    pub segments: Option<String>,
    pub error: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    /// The node that received the upload and holds the recording; `None` for a task queued
    /// before nodes were named.
    pub node: Option<String>,
}

/// The queued and running tasks a node works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue<'a> {
    /// Every task: a SQLite database has one node by construction, whatever its name was when
    /// it queued them.
    Every,
    /// The tasks of the node so named (several nodes share PostgreSQL), with those queued
    /// before nodes were named (`node` NULL): a starting node takes such a task over when it
    /// holds its recording and fails it otherwise ([`requeue_left`], [`fail_left`]), so none is
    /// left once one node has started.
    Node(&'a str),
}

diesel::define_sql_function! {
    /// SQL's `coalesce`, on both databases.
    fn coalesce(
        value: diesel::sql_types::Nullable<diesel::sql_types::Text>,
        otherwise: diesel::sql_types::Text,
    ) -> diesel::sql_types::Text;
}

pub async fn insert(conn: &mut DbConn, row: &TranscriptionRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(transcriptions::table)
            .values(row)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// The task, if `owner` owns it.
pub async fn get_owned(
    conn: &mut DbConn,
    owner: &UserId,
    id: &TranscriptionId,
) -> Result<Option<TranscriptionRow>, DbError> {
    db_run!(conn, {
        Ok(transcriptions::table
            .filter(transcriptions::id.eq(id))
            .filter(transcriptions::owner_id.eq(owner))
            .select(TranscriptionRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

pub async fn get(
    conn: &mut DbConn,
    id: &TranscriptionId,
) -> Result<Option<TranscriptionRow>, DbError> {
    db_run!(conn, {
        Ok(transcriptions::table
            .filter(transcriptions::id.eq(id))
            .select(TranscriptionRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// The owner's latest `limit` tasks, newest first.
pub async fn list_owned(
    conn: &mut DbConn,
    owner: &UserId,
    limit: i64,
) -> Result<Vec<TranscriptionRow>, DbError> {
    db_run!(conn, {
        Ok(transcriptions::table
            .filter(transcriptions::owner_id.eq(owner))
            .order((transcriptions::created_at.desc(), transcriptions::id.desc()))
            .limit(limit)
            .select(TranscriptionRow::as_select())
            .load(conn)
            .await?)
    })
}

// Boxed queries are per backend: these two macros build them inside `db_run!`, once for each.

/// The queue's tasks with one of `statuses`, as a boxed query.
macro_rules! in_queue {
    ($queue:expr, $statuses:expr) => {{
        let mut query = transcriptions::table
            .filter(transcriptions::status.eq_any($statuses))
            .into_boxed();
        if let Queue::Node(node) = $queue {
            // The node's own tasks and the unnamed ones (NULL).
            query = query.filter(coalesce(transcriptions::node, node).eq(node));
        }
        query
    }};
}

const PENDING: [TranscriptionStatus; 2] =
    [TranscriptionStatus::Queued, TranscriptionStatus::Running];

/// Tasks queued or running in `queue` (what bounds it).
pub async fn count_pending(conn: &mut DbConn, queue: Queue<'_>) -> Result<i64, DbError> {
    db_run!(conn, {
        Ok(in_queue!(queue, PENDING).count().get_result(conn).await?)
    })
}

/// The tasks queued or running in `queue`, oldest first (what a starting node finds).
pub async fn pending(
    conn: &mut DbConn,
    queue: Queue<'_>,
) -> Result<Vec<TranscriptionRow>, DbError> {
    db_run!(conn, {
        Ok(in_queue!(queue, PENDING)
            .order((transcriptions::created_at.asc(), transcriptions::id.asc()))
            .select(TranscriptionRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Those of `ids` that are tasks queued or running, on any node (recordings stored for the
/// others are left over).
pub async fn pending_among(
    conn: &mut DbConn,
    ids: &[TranscriptionId],
) -> Result<Vec<TranscriptionId>, DbError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(500) {
        let some: Vec<TranscriptionId> = db_run!(conn, {
            transcriptions::table
                .filter(transcriptions::id.eq_any(chunk))
                .filter(transcriptions::status.eq_any(PENDING))
                .select(transcriptions::id)
                .load(conn)
                .await
        })?;
        found.extend(some);
    }
    Ok(found)
}

/// The oldest queued task in `queue`, now marked running; `None` when nothing is queued. The
/// update only takes a task still queued, so two claimers never take the same one.
pub async fn claim_next(
    conn: &mut DbConn,
    queue: Queue<'_>,
) -> Result<Option<TranscriptionRow>, DbError> {
    db_run!(conn, {
        loop {
            let next: Option<TranscriptionId> = in_queue!(queue, [TranscriptionStatus::Queued])
                .order((transcriptions::created_at.asc(), transcriptions::id.asc()))
                .select(transcriptions::id)
                .first(conn)
                .await
                .optional()?;
            let Some(id) = next else {
                return Ok(None);
            };
            let claimed = diesel::update(
                transcriptions::table
                    .filter(transcriptions::id.eq(&id))
                    .filter(transcriptions::status.eq(TranscriptionStatus::Queued)),
            )
            .set((
                transcriptions::status.eq(TranscriptionStatus::Running),
                transcriptions::started_at.eq(super::now()),
            ))
            .execute(conn)
            .await?;
            if claimed == 1 {
                return Ok(transcriptions::table
                    .filter(transcriptions::id.eq(&id))
                    .select(TranscriptionRow::as_select())
                    .first(conn)
                    .await
                    .optional()?);
            }
        }
    })
}

/// Puts a task a node found on start back in the queue (it was queued or running when the node
/// stopped), keeping its place, as `node`'s. Only while it is still pending and still has the
/// node it was read with (`was`): two nodes starting together never both take an unnamed task.
/// Returns whether it did.
pub async fn requeue_left(
    conn: &mut DbConn,
    id: &TranscriptionId,
    was: Option<&str>,
    node: &str,
) -> Result<bool, DbError> {
    let was = was.unwrap_or_default();
    db_run!(conn, {
        let updated = diesel::update(
            transcriptions::table
                .filter(transcriptions::id.eq(id))
                .filter(transcriptions::status.eq_any(PENDING))
                .filter(coalesce(transcriptions::node, "").eq(was)),
        )
        .set((
            transcriptions::status.eq(TranscriptionStatus::Queued),
            transcriptions::started_at.eq(None::<NaiveDateTime>),
            transcriptions::segments_total.eq(None::<i32>),
            transcriptions::segments_done.eq(0),
            transcriptions::node.eq(Some(node)),
        ))
        .execute(conn)
        .await?;
        Ok(updated == 1)
    })
}

/// Fails a task a node found on start without its recording, on the terms of
/// [`requeue_left`]. Returns whether it did.
pub async fn fail_left(
    conn: &mut DbConn,
    id: &TranscriptionId,
    was: Option<&str>,
    reason: &str,
) -> Result<bool, DbError> {
    let was = was.unwrap_or_default();
    db_run!(conn, {
        let updated = diesel::update(
            transcriptions::table
                .filter(transcriptions::id.eq(id))
                .filter(transcriptions::status.eq_any(PENDING))
                .filter(coalesce(transcriptions::node, "").eq(was)),
        )
        .set((
            transcriptions::status.eq(TranscriptionStatus::Failed),
            transcriptions::error.eq(Some(reason)),
            transcriptions::finished_at.eq(Some(super::now())),
        ))
        .execute(conn)
        .await?;
        Ok(updated == 1)
    })
}

/// Records how many pieces a running task has and how many are done. Returns whether the
/// task is still there (its owner may have deleted it).
pub async fn set_progress(
    conn: &mut DbConn,
    id: &TranscriptionId,
    total: i32,
    done: i32,
) -> Result<bool, DbError> {
    db_run!(conn, {
        let updated = diesel::update(transcriptions::table.filter(transcriptions::id.eq(id)))
            .set((
                transcriptions::segments_total.eq(Some(total)),
                transcriptions::segments_done.eq(done),
            ))
            .execute(conn)
            .await?;
        Ok(updated == 1)
    })
}

/// Stores a finished task's text and segments (JSON). Returns whether the task was still
/// there (its owner may have deleted it meanwhile).
pub async fn finish(
    conn: &mut DbConn,
    id: &TranscriptionId,
    text: &str,
    segments_json: &str,
) -> Result<bool, DbError> {
    db_run!(conn, {
        let updated = diesel::update(transcriptions::table.filter(transcriptions::id.eq(id)))
            .set((
                transcriptions::status.eq(TranscriptionStatus::Done),
                transcriptions::text.eq(Some(text)),
                transcriptions::segments.eq(Some(segments_json)),
                transcriptions::finished_at.eq(Some(super::now())),
            ))
            .execute(conn)
            .await?;
        Ok(updated == 1)
    })
}

/// Marks a task failed with the reason shown to its owner.
pub async fn fail(conn: &mut DbConn, id: &TranscriptionId, reason: &str) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::update(transcriptions::table.filter(transcriptions::id.eq(id)))
            .set((
                transcriptions::status.eq(TranscriptionStatus::Failed),
                transcriptions::error.eq(Some(reason)),
                transcriptions::finished_at.eq(Some(super::now())),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// Deletes the owner's task; returns whether there was one.
pub async fn delete_owned(
    conn: &mut DbConn,
    owner: &UserId,
    id: &TranscriptionId,
) -> Result<bool, DbError> {
    db_run!(conn, {
        let deleted = diesel::delete(
            transcriptions::table
                .filter(transcriptions::id.eq(id))
                .filter(transcriptions::owner_id.eq(owner)),
        )
        .execute(conn)
        .await?;
        Ok(deleted == 1)
    })
}

/// Deletes finished (done or failed) tasks that finished before `before`; returns their ids.
pub async fn delete_finished_before(
    conn: &mut DbConn,
    before: NaiveDateTime,
) -> Result<Vec<TranscriptionId>, DbError> {
    db_run!(conn, {
        let old = transcriptions::table
            .filter(
                transcriptions::status
                    .eq_any([TranscriptionStatus::Done, TranscriptionStatus::Failed]),
            )
            .filter(transcriptions::finished_at.lt(before));
        let ids: Vec<TranscriptionId> = old.select(transcriptions::id).load(conn).await?;
        if !ids.is_empty() {
            diesel::delete(transcriptions::table.filter(transcriptions::id.eq_any(&ids)))
                .execute(conn)
                .await?;
        }
        Ok(ids)
    })
}
