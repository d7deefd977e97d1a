//! The completion notice to the recruiter (the invite email is written in `candidates.rs`).

use crate::db::{self, DbPool};
use crate::domain::{EmailKind, InterviewId};
use crate::mail::{Email, Mailer};

/// Emails the recruiter when one of their candidates finishes an interview, with the link to
/// the report. Runs for the server's lifetime, following the activity feed.
pub fn spawn_completion_notices(
    pool: DbPool,
    mailer: Mailer,
    activity: crate::activity::ActivityFeed,
    public_url: String,
) {
    let mut events = activity.subscribe();
    actix_web::rt::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "completion notices fell behind the activity feed");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            // Another node's interview: that node sends its email.
            if event.kind != crate::activity::ActivityKind::Ended || !event.here {
                continue;
            }
            if let Err(e) = notify_completed(&pool, &mailer, &public_url, &event.interview_id).await
            {
                tracing::warn!(error = %e, interview_id = %event.interview_id, "completion notice failed");
            }
        }
    });
}

async fn notify_completed(
    pool: &DbPool,
    mailer: &Mailer,
    public_url: &str,
    interview_id: &InterviewId,
) -> Result<(), crate::db::DbError> {
    let mut conn = pool.get().await?;
    let Some(candidate) = db::candidates::of_interview(&mut conn, interview_id).await? else {
        return Ok(()); // a practice interview
    };
    let Some(job) = db::jobs::find(&mut conn, &candidate.job_id).await? else {
        return Ok(());
    };
    let Some(recruiter) = db::users::find_by_id(&mut conn, &job.owner_id).await? else {
        return Ok(());
    };
    let score = db::interviews::find(&mut conn, interview_id)
        .await?
        .and_then(|i| i.score)
        .map_or_else(|| "not scored".to_owned(), |s| format!("{s:.0}/100"));
    drop(conn);
    let report = format!(
        "{}/report.html?id={interview_id}",
        public_url.trim_end_matches('/')
    );
    mailer
        .send(
            pool,
            Email {
                kind: EmailKind::Completed,
                interview_id: Some(interview_id),
                to: &recruiter.email,
                subject: format!(
                    "{} finished the interview for {}",
                    candidate.name, job.title
                ),
                body: format!(
                    "{} finished the interview for {} (score: {score}).\n\nReport: {report}\n",
                    candidate.name, job.title
                ),
            },
        )
        .await;
    Ok(())
}
