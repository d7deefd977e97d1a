//! Queries on `transcriptions`: batch transcription tasks, their progress and results.

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

/// Tasks queued or running, on the whole server.
pub async fn count_pending(conn: &mut DbConn) -> Result<i64, DbError> {
    db_run!(conn, {
        Ok(transcriptions::table
            .filter(
                transcriptions::status
                    .eq_any([TranscriptionStatus::Queued, TranscriptionStatus::Running]),
            )
            .count()
            .get_result(conn)
            .await?)
    })
}

/// Every task queued or running, oldest first (what a starting server finds).
pub async fn pending(conn: &mut DbConn) -> Result<Vec<TranscriptionRow>, DbError> {
    db_run!(conn, {
        Ok(transcriptions::table
            .filter(
                transcriptions::status
                    .eq_any([TranscriptionStatus::Queued, TranscriptionStatus::Running]),
            )
            .order((transcriptions::created_at.asc(), transcriptions::id.asc()))
            .select(TranscriptionRow::as_select())
            .load(conn)
            .await?)
    })
}

/// The oldest queued task, now marked running; `None` when nothing is queued. The update only
/// takes a task still queued, so two claimers never take the same one.
pub async fn claim_next(conn: &mut DbConn) -> Result<Option<TranscriptionRow>, DbError> {
    db_run!(conn, {
        loop {
            let next: Option<TranscriptionId> = transcriptions::table
                .filter(transcriptions::status.eq(TranscriptionStatus::Queued))
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

/// Puts a task back in the queue (a server restarted while it ran), keeping its place.
pub async fn requeue(conn: &mut DbConn, id: &TranscriptionId) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::update(transcriptions::table.filter(transcriptions::id.eq(id)))
            .set((
                transcriptions::status.eq(TranscriptionStatus::Queued),
                transcriptions::started_at.eq(None::<NaiveDateTime>),
                transcriptions::segments_total.eq(None::<i32>),
                transcriptions::segments_done.eq(0),
            ))
            .execute(conn)
            .await?;
        Ok(())
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
