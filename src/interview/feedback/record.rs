//! Feedback on an answer as it is stored (`turn_feedback`) and shown (the `feedback` event, the
//! interview's `feedback` list).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Assessment, AssessmentSource, Delivery};
use crate::db::feedback::FeedbackRow;
use crate::domain::{FeedbackSource, Flag, InterviewId, Invalid, MessageId};

/// The feedback on one answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TurnFeedback {
    pub id: String,
    /// The candidate message it is about.
    pub message_id: MessageId,
    pub question_position: i32,
    /// 1–5.
    pub score: i32,
    /// The question's rubric points, each with whether the answer covered it.
    pub rubric: Vec<RubricPoint>,
    pub strength: String,
    pub improvement: String,
    /// `model`, or `fallback` with the reason the model's assessment was not used.
    pub source: FeedbackSource,
    pub fallback_reason: Option<String>,
    /// Why the answer got no credit for its wording: `addresses_grader` (text aimed at the
    /// grader), `pasted_rubric` (the key points' wording repeated) or `off_topic`.
    pub flag: Option<Flag>,
    pub delivery: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RubricPoint {
    pub point: String,
    pub covered: bool,
}

/// The row for `assessment` and `delivery` of answer `message_id`.
pub fn to_row(
    interview_id: &InterviewId,
    message_id: &MessageId,
    question_position: i32,
    assessment: &Assessment,
    delivery: &Delivery,
) -> FeedbackRow {
    let (source, fallback_reason) = match &assessment.source {
        AssessmentSource::Model => (FeedbackSource::Model, None),
        AssessmentSource::Fallback { reason } => (FeedbackSource::Fallback, Some(reason.clone())),
    };
    FeedbackRow {
        id: uuid::Uuid::new_v4().to_string(),
        interview_id: interview_id.to_owned(),
        message_id: message_id.to_owned(),
        question_position,
        score: i32::from(assessment.score),
        covered: serde_json::to_string(&assessment.covered).unwrap_or_else(|_| "[]".into()),
        strength: assessment.strength.clone(),
        improvement: assessment.improvement.clone(),
        source,
        fallback_reason,
        words_per_minute: delivery.words_per_minute,
        filler_count: i32::try_from(delivery.filler_count).unwrap_or(i32::MAX),
        delivery: serde_json::to_string(delivery).unwrap_or_else(|_| "{}".into()),
        created_at: crate::db::now(),
        flag: assessment.flag,
    }
}

/// The feedback as shown, with the rubric points of its question.
pub fn from_row(row: FeedbackRow, rubric: &[String]) -> Result<TurnFeedback, Invalid> {
    let covered: Vec<bool> = serde_json::from_str(&row.covered)
        .map_err(|e| Invalid(format!("turn_feedback.covered: {e}")))?;
    let delivery = serde_json::from_str(&row.delivery)
        .map_err(|e| Invalid(format!("turn_feedback.delivery: {e}")))?;
    Ok(TurnFeedback {
        rubric: rubric
            .iter()
            .enumerate()
            .map(|(i, point)| RubricPoint {
                point: point.clone(),
                covered: covered.get(i).copied().unwrap_or(false),
            })
            .collect(),
        id: row.id,
        message_id: row.message_id,
        question_position: row.question_position,
        score: row.score,
        strength: row.strength,
        improvement: row.improvement,
        source: row.source,
        fallback_reason: row.fallback_reason,
        flag: row.flag,
        delivery,
        created_at: row.created_at.and_utc(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interview::feedback::measure;

    #[test]
    fn a_row_reads_back_as_it_was_written() {
        let assessment = Assessment {
            score: 3,
            covered: vec![true, false],
            strength: "You named the index.".into(),
            improvement: "Say how you measured it.".into(),
            flag: None,
            source: AssessmentSource::Fallback {
                reason: "the sentence encoder failed: score 7".into(),
            },
        };
        let delivery = measure("Um, I added an index.", None, None);
        let row = to_row(&"i".into(), &"m".into(), 2, &assessment, &delivery);
        assert_eq!(row.filler_count, 1);
        let rubric = vec!["Finds the slow query".to_owned(), "Measures".to_owned()];
        let shown = from_row(row, &rubric).expect("valid row");
        assert_eq!(shown.score, 3);
        assert_eq!(shown.source, FeedbackSource::Fallback);
        assert!(shown.fallback_reason.expect("reason").contains("score 7"));
        assert_eq!(shown.flag, None);
        assert_eq!(
            shown.rubric,
            vec![
                RubricPoint {
                    point: rubric[0].clone(),
                    covered: true
                },
                RubricPoint {
                    point: rubric[1].clone(),
                    covered: false
                },
            ]
        );
        assert_eq!(shown.delivery["filler_count"], 1);
        assert!(
            shown.delivery["words_per_minute"].is_null(),
            "typed: no rate"
        );
    }
}
