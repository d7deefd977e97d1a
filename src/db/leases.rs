//! Interview leases: which node's live session runs an interview, until when. Each statement is
//! one atomic step on the lease's row, so two nodes claiming the same interview at once cannot
//! both win.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::interview_leases;
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::InterviewId;

/// A lease's holder: the node name and its live session there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder<'a> {
    pub node: &'a str,
    pub session: i64,
}

/// Who holds an interview's lease that another node asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBy {
    pub node: String,
    pub expires_at: NaiveDateTime,
}

/// Takes the interview's lease for `holder` until `until` when nobody holds it, its lease ran
/// out by `now`, or it is held on `holder.node` already (a node's registry keeps one session
/// per interview, so a newer session there supersedes an older one). Otherwise says who holds it.
pub async fn claim(
    conn: &mut DbConn,
    interview_id: &InterviewId,
    holder: &Holder<'_>,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Result<(), HeldBy>, DbError> {
    // Twice at most: a lease released between the statements is free on the second try.
    for _ in 0..2 {
        let inserted = db_run!(conn, {
            diesel::insert_into(interview_leases::table)
                .values((
                    interview_leases::interview_id.eq(interview_id),
                    interview_leases::node.eq(holder.node),
                    interview_leases::session.eq(holder.session),
                    interview_leases::expires_at.eq(until),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?
        });
        if inserted == 1 {
            return Ok(Ok(()));
        }
        // Taken over only when it ran out or is this node's already: two nodes updating an
        // expired lease at once are serialised on its row, and the second finds it renewed.
        let updated = db_run!(conn, {
            diesel::update(
                interview_leases::table.find(interview_id).filter(
                    interview_leases::node
                        .eq(holder.node)
                        .or(interview_leases::expires_at.le(now)),
                ),
            )
            .set((
                interview_leases::node.eq(holder.node),
                interview_leases::session.eq(holder.session),
                interview_leases::expires_at.eq(until),
            ))
            .execute(conn)
            .await?
        });
        if updated == 1 {
            return Ok(Ok(()));
        }
        let held = db_run!(conn, {
            interview_leases::table
                .find(interview_id)
                .select((interview_leases::node, interview_leases::expires_at))
                .first::<(String, NaiveDateTime)>(conn)
                .await
                .optional()?
        });
        if let Some((node, expires_at)) = held {
            return Ok(Err(HeldBy { node, expires_at }));
        }
    }
    Err(DbError::Unavailable(
        "the interview's lease changed hands twice while being claimed".into(),
    ))
}

/// Extends `holder`'s lease to `until`; `false` when it no longer holds it (another node took
/// the interview after the lease ran out).
pub async fn renew(
    conn: &mut DbConn,
    interview_id: &InterviewId,
    holder: &Holder<'_>,
    until: NaiveDateTime,
) -> Result<bool, DbError> {
    let renewed = db_run!(conn, {
        diesel::update(
            interview_leases::table
                .find(interview_id)
                .filter(interview_leases::node.eq(holder.node))
                .filter(interview_leases::session.eq(holder.session)),
        )
        .set(interview_leases::expires_at.eq(until))
        .execute(conn)
        .await?
    });
    Ok(renewed == 1)
}

/// Gives the lease up, when `holder` still holds it.
pub async fn release(
    conn: &mut DbConn,
    interview_id: &InterviewId,
    holder: &Holder<'_>,
) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::delete(
            interview_leases::table
                .find(interview_id)
                .filter(interview_leases::node.eq(holder.node))
                .filter(interview_leases::session.eq(holder.session)),
        )
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// Gives up every lease `node` holds (it stopped: none of its sessions runs any more).
pub async fn release_node(conn: &mut DbConn, node: &str) -> Result<usize, DbError> {
    Ok(db_run!(conn, {
        diesel::delete(interview_leases::table.filter(interview_leases::node.eq(node)))
            .execute(conn)
            .await?
    }))
}
