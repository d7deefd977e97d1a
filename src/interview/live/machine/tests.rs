//! Every turn rule of README "Live interviews" / "The interviewer's turns" and of
//! docs/protocol.md, as the machine plays them. The tests carry out the effects themselves
//! (a write succeeds or fails, a transcription returns a text, the conductor a turn).

use chrono::{NaiveDateTime, Utc};

use super::*;
use crate::domain::{FeedbackSource, InterviewMode};
use crate::interview::catalog::Difficulty;
use crate::interview::conductor::{AnswerKind, Source};
use crate::interview::interviews::{Interview, PlannedQuestion};
use crate::speech::mel::SAMPLE_RATE;

const QUESTIONS: [&str; 2] = [
    "Tell me about a system you designed.",
    "How do you test concurrent code?",
];

// ---- building interviews ----------------------------------------------------------------

fn interview(status: InterviewStatus, questions: &[&str], rows: &[MessageRow]) -> Loaded {
    let started_at = (status != InterviewStatus::Pending).then(Utc::now);
    Loaded {
        detail: InterviewDetail {
            interview: Interview {
                id: "interview-1".into(),
                interview_type: "technical".into(),
                skills: vec!["rust".into()],
                difficulty: Difficulty::Medium,
                question_count: i32::try_from(questions.len()).expect("few"),
                time_limit_minutes: 30,
                mode: InterviewMode::Practice,
                status,
                score: None,
                summary: None,
                created_at: Utc::now(),
                started_at,
                completed_at: None,
            },
            questions: questions
                .iter()
                .zip(1..)
                .map(|(text, position)| PlannedQuestion {
                    position,
                    question_id: format!("q{position}").into(),
                    text: (*text).into(),
                })
                .collect(),
            messages: rows.iter().cloned().map(Message::from).collect(),
            feedback: Vec::new(),
        },
        questions: questions.iter().map(|q| (*q).to_owned()).collect(),
        rubrics: questions
            .iter()
            .map(|_| vec!["names the trade-off".to_owned()])
            .collect(),
        progress: Progress::of(rows),
        resume_highlights: Vec::new(),
    }
}

fn row(seq: i32, kind: MessageKind, position: i32, text: &str) -> MessageRow {
    MessageRow {
        id: format!("m{seq}").into(),
        interview_id: "interview-1".into(),
        seq,
        role: kind.speaker(),
        text: text.into(),
        audio_ms: None,
        transcription_ms: None,
        generation_ms: None,
        interrupted: false,
        created_at: NaiveDateTime::default(),
        kind,
        question_position: Some(position),
    }
}

fn machine_with(loaded: Loaded) -> (Machine, Vec<Effect>) {
    let mut machine = Machine::new(
        "interview-1".into(),
        TurnSettings::default(),
        VoiceMode::Local,
    );
    let effects = machine.handle(Event::Loaded(Box::new(loaded)));
    (machine, effects)
}

/// A running interview whose first question was asked and which is listening.
fn listening() -> Machine {
    let (mut machine, _) = machine_with(interview(InterviewStatus::Pending, &QUESTIONS, &[]));
    let effects = machine.handle(Event::Client(ClientMsg::Start));
    let effects = run_start(&mut machine, effects);
    let effects = store_ok(&mut machine, effects);
    assert_eq!(
        machine.live_state(),
        LiveState::Listening,
        "{}",
        show(&effects)
    );
    machine
}

// ---- carrying out effects ---------------------------------------------------------------

fn run_start(machine: &mut Machine, effects: Vec<Effect>) -> Vec<Effect> {
    let epoch = effects
        .iter()
        .find_map(|e| match e {
            Effect::MarkStarted { epoch } => Some(*epoch),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no MarkStarted in {}", show(&effects)));
    machine.handle(Event::Started {
        epoch,
        result: Ok(db::now()),
    })
}

/// The one `Store` among `effects`.
fn the_store(effects: Vec<Effect>) -> (u64, MessageRow, AfterStore) {
    let summary = show(&effects);
    let mut stores = effects.into_iter().filter_map(|e| match e {
        Effect::Store { epoch, row, then } => Some((epoch, row, then)),
        _ => None,
    });
    let store = stores
        .next()
        .unwrap_or_else(|| panic!("no Store in {summary}"));
    assert!(stores.next().is_none(), "two Stores in {summary}");
    store
}

/// Carries out the one `Store` among `effects` successfully.
fn store_ok(machine: &mut Machine, effects: Vec<Effect>) -> Vec<Effect> {
    let (epoch, row, then) = the_store(effects);
    machine.handle(Event::Stored {
        epoch,
        then,
        result: Ok(Message::from(row)),
    })
}

fn conduct_request(effects: &[Effect]) -> (u64, &ReplyRequest) {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Conduct { epoch, request } => Some((*epoch, request)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Conduct in {}", show(effects)))
}

fn turn(action: Move, text: &str) -> Turn {
    Turn {
        action,
        text: text.into(),
        source: Source::Rules,
        answer_kind: AnswerKind::Answer,
        planned_question: None,
        topic: None,
        rejected: Vec::new(),
    }
}

fn type_answer(machine: &mut Machine, text: &str) -> Vec<Effect> {
    machine.handle(Event::Client(ClientMsg::Text { text: text.into() }))
}

/// Types an answer and stores it: the effects hold the `Conduct` for the reply.
fn answered(machine: &mut Machine, text: &str) -> Vec<Effect> {
    let effects = type_answer(machine, text);
    store_ok(machine, effects)
}

/// The conductor's turn for the `Conduct` among `effects` is written: the effects that follow
/// (the rest of the reply, its `Store`).
fn written(machine: &mut Machine, effects: &[Effect], action: Move, text: &str) -> Vec<Effect> {
    let (epoch, _) = conduct_request(effects);
    machine.handle(Event::ReplyWritten {
        epoch,
        turn: Some(turn(action, text)),
    })
}

/// [`written`], and the reply stored: the effects after it.
fn replied(machine: &mut Machine, effects: &[Effect], action: Move, text: &str) -> Vec<Effect> {
    let effects = written(machine, effects, action, text);
    store_ok(machine, effects)
}

/// Answers by text and lets the conductor reply with `action`; returns the effects after the
/// reply was stored.
fn answer_and_reply(machine: &mut Machine, answer: &str, action: Move, reply: &str) -> Vec<Effect> {
    let effects = answered(machine, answer);
    replied(machine, &effects, action, reply)
}

// ---- reading effects --------------------------------------------------------------------

fn sent(effects: &[Effect]) -> Vec<&ServerMsg> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(message) => Some(message),
            _ => None,
        })
        .collect()
}

/// One word per effect, in order: `state:listening`, `reply_delta`, `store:answer`, …
fn show(effects: &[Effect]) -> String {
    let words: Vec<String> = effects
        .iter()
        .map(|effect| match effect {
            Effect::Send(ServerMsg::State { state }) => format!("state:{state:?}"),
            Effect::Send(ServerMsg::Error { code, .. }) => format!("error:{code:?}"),
            Effect::Send(message) => {
                let json = message.to_json();
                let kind = json.split('"').nth(3).unwrap_or("?").to_owned();
                kind
            }
            Effect::MarkStarted { .. } => "mark_started".into(),
            Effect::Store { row, .. } => format!("store:{}", row.kind),
            Effect::Transcribe { .. } => "transcribe".into(),
            Effect::Conduct { .. } => "conduct".into(),
            Effect::Assess(_) => "assess".into(),
            Effect::ArmTimeLimit { .. } => "arm_time_limit".into(),
            Effect::MarkEnded { reason } => format!("mark_ended:{reason:?}"),
            Effect::HurryFeedback => "hurry_feedback".into(),
            Effect::SettleReport { .. } => "settle_report".into(),
            Effect::Publish(kind) => format!("publish:{kind:?}"),
            Effect::Close { code, .. } => format!("close:{code}"),
        })
        .collect();
    words.join(" ")
}

fn error_code(effects: &[Effect]) -> Option<ErrorCode> {
    sent(effects).into_iter().find_map(|m| match m {
        ServerMsg::Error { code, .. } => Some(*code),
        _ => None,
    })
}

// ---- audio ------------------------------------------------------------------------------

/// A voiced sound that rises and falls like syllables: harmonics of 140 Hz, four syllables
/// a second, about -20 dBFS.
fn speech(seconds: f32) -> Vec<f32> {
    let rate = SAMPLE_RATE as f32;
    (0..(seconds * rate) as usize)
        .map(|i| {
            let t = i as f32 / rate;
            let syllable = (std::f32::consts::PI * 4.0 * t).sin().powi(2);
            let voice: f32 = (1..=12)
                .map(|h| (2.0 * std::f32::consts::PI * 140.0 * h as f32 * t).sin() / h as f32)
                .sum();
            0.05 * syllable * voice
        })
        .collect()
}

fn silence(seconds: f32) -> Vec<f32> {
    vec![0.0; (seconds * SAMPLE_RATE as f32) as usize]
}

/// Feeds audio in 100 ms chunks, as a browser does; returns every effect.
fn stream(machine: &mut Machine, audio: &[f32]) -> Vec<Effect> {
    audio
        .chunks(SAMPLE_RATE / 10)
        .flat_map(|chunk| machine.handle(Event::Audio(chunk.to_vec())))
        .collect()
}

// ---- loading and connecting -------------------------------------------------------------

#[test]
fn a_loaded_interview_says_ready_with_its_state() {
    for (status, rows, state) in [
        (InterviewStatus::Pending, vec![], LiveState::Idle),
        (
            InterviewStatus::InProgress,
            vec![row(1, MessageKind::Question, 1, QUESTIONS[0])],
            LiveState::Listening,
        ),
        (
            InterviewStatus::InProgress,
            vec![
                row(1, MessageKind::Question, 1, QUESTIONS[0]),
                row(2, MessageKind::Closing, 1, "Thanks."),
            ],
            LiveState::Idle,
        ),
        (InterviewStatus::Completed, vec![], LiveState::Idle),
    ] {
        let (machine, effects) = machine_with(interview(status, &QUESTIONS, &rows));
        let ready = sent(&effects).into_iter().find_map(|m| match m {
            ServerMsg::Ready {
                interview, state, ..
            } => Some((interview.messages.len(), *state)),
            _ => None,
        });
        assert_eq!(ready, Some((rows.len(), state)), "{status:?}");
        assert_eq!(machine.live_state(), state);
        let armed = effects
            .iter()
            .any(|e| matches!(e, Effect::ArmTimeLimit { minutes: 30, .. }));
        assert_eq!(armed, status == InterviewStatus::InProgress, "{status:?}");
    }
}

#[test]
fn every_connection_gets_ready_first() {
    let mut machine = listening();
    let effects = machine.handle(Event::Attached);
    match sent(&effects).as_slice() {
        [ServerMsg::Ready {
            interview, state, ..
        }] => {
            assert_eq!(*state, LiveState::Listening);
            assert_eq!(
                interview.messages.len(),
                1,
                "the greeting is in the history"
            );
        }
        other => panic!("expected ready alone, got {other:?}"),
    }
}

#[test]
fn nothing_is_said_before_the_interview_is_loaded() {
    let mut machine = Machine::new(
        "interview-1".into(),
        TurnSettings::default(),
        VoiceMode::Local,
    );
    assert!(machine.handle(Event::Attached).is_empty());
    assert!(machine.handle(Event::Client(ClientMsg::Start)).is_empty());
    let effects = type_answer(&mut machine, "hello");
    assert_eq!(error_code(&effects), Some(ErrorCode::NotStarted));
}

// ---- start -------------------------------------------------------------------------------

#[test]
fn start_marks_the_interview_started_then_greets_with_the_first_question() {
    let (mut machine, _) = machine_with(interview(InterviewStatus::Pending, &QUESTIONS, &[]));
    let effects = machine.handle(Event::Client(ClientMsg::Start));
    assert_eq!(show(&effects), "state:Thinking mark_started");

    let effects = run_start(&mut machine, effects);
    assert_eq!(
        show(&effects),
        "arm_time_limit publish:Started state:Speaking reply_delta store:question"
    );
    let greeting = sent(&effects).into_iter().find_map(|m| match m {
        ServerMsg::ReplyDelta { text, .. } => Some(text.clone()),
        _ => None,
    });
    let greeting = greeting.expect("a reply_delta");
    assert!(greeting.starts_with(prompts::GREETING) && greeting.ends_with(QUESTIONS[0]));

    let (_, row, _) = the_store(effects);
    assert_eq!(
        (row.role.as_str(), row.question_position, row.seq),
        ("interviewer", Some(1), 1)
    );
    let effects = machine.handle(Event::Stored {
        epoch: 0,
        then: AfterStore::Interviewer {
            kind: MessageKind::Question,
            end: None,
        },
        result: Ok(Message::from(row)),
    });
    assert_eq!(show(&effects), "reply state:Listening");
}

#[test]
fn start_on_a_running_interview_only_resends_the_state() {
    let mut machine = listening();
    let effects = machine.handle(Event::Client(ClientMsg::Start));
    assert_eq!(show(&effects), "state:Listening");
}

#[test]
fn start_on_an_interview_without_questions_ends_it_completed() {
    let (mut machine, _) = machine_with(interview(InterviewStatus::Pending, &[], &[]));
    let effects = machine.handle(Event::Client(ClientMsg::Start));
    let effects = run_start(&mut machine, effects);
    assert!(
        show(&effects).ends_with("state:Idle mark_ended:Completed"),
        "{}",
        show(&effects)
    );
}

#[test]
fn start_after_an_unreplied_answer_replies_to_it_and_owes_its_feedback() {
    let rows = [
        row(1, MessageKind::Question, 1, QUESTIONS[0]),
        row(
            2,
            MessageKind::Answer,
            1,
            "I built a queue with back-pressure.",
        ),
    ];
    let (mut machine, _) = machine_with(interview(InterviewStatus::InProgress, &QUESTIONS, &rows));
    let effects = machine.handle(Event::Client(ClientMsg::Start));
    assert_eq!(show(&effects), "state:Thinking conduct");
    let (epoch, request) = conduct_request(&effects);
    assert_eq!(request.answer, "I built a queue with back-pressure.");
    assert_eq!(request.next_question.as_deref(), Some(QUESTIONS[1]));

    let effects = machine.handle(Event::ReplyWritten {
        epoch,
        turn: Some(turn(Move::NextQuestion, "Thanks. Next one.")),
    });
    let effects = store_ok(&mut machine, effects);
    assert_eq!(show(&effects), "reply assess state:Listening");
    match effects.iter().find(|e| matches!(e, Effect::Assess(_))) {
        Some(Effect::Assess(request)) => {
            assert_eq!(request.message_id.as_str(), "m2");
            assert!(
                request.spoken.is_none(),
                "only the text survived the restart"
            );
        }
        _ => unreachable!(),
    }
}

#[test]
fn start_after_the_interview_is_over_is_refused() {
    let (mut machine, _) = machine_with(interview(InterviewStatus::Completed, &QUESTIONS, &[]));
    let effects = machine.handle(Event::Client(ClientMsg::Start));
    assert_eq!(error_code(&effects), Some(ErrorCode::InterviewOver));
}

#[test]
fn a_start_that_cannot_be_stored_goes_back_to_not_started() {
    let (mut machine, _) = machine_with(interview(InterviewStatus::Pending, &QUESTIONS, &[]));
    machine.handle(Event::Client(ClientMsg::Start));
    let effects = machine.handle(Event::Started {
        epoch: 0,
        result: Err(WriteFailure::DatabaseUnavailable),
    });
    assert_eq!(show(&effects), "error:DatabaseUnavailable state:Idle");
    // And start works again.
    let effects = machine.handle(Event::Client(ClientMsg::Start));
    assert_eq!(show(&effects), "state:Thinking mark_started");
}

// ---- whose turn it is -------------------------------------------------------------------

#[test]
fn answers_are_taken_only_while_listening() {
    let (mut machine, _) = machine_with(interview(InterviewStatus::Pending, &QUESTIONS, &[]));
    for message in [ClientMsg::Text { text: "hi".into() }, ClientMsg::EndTurn] {
        let effects = machine.handle(Event::Client(message));
        assert_eq!(error_code(&effects), Some(ErrorCode::NotStarted));
    }

    let mut machine = listening();
    type_answer(&mut machine, "An answer.");
    for message in [
        ClientMsg::Text {
            text: "more".into(),
        },
        ClientMsg::EndTurn,
    ] {
        let effects = machine.handle(Event::Client(message));
        assert_eq!(error_code(&effects), Some(ErrorCode::NotYourTurn));
    }

    let (mut machine, _) = machine_with(interview(InterviewStatus::Completed, &QUESTIONS, &[]));
    let effects = machine.handle(Event::Client(ClientMsg::Text { text: "hi".into() }));
    assert_eq!(error_code(&effects), Some(ErrorCode::InterviewOver));
}

#[test]
fn audio_is_refused_before_the_start_and_after_the_end_and_dropped_while_busy() {
    let (mut machine, _) = machine_with(interview(InterviewStatus::Pending, &QUESTIONS, &[]));
    let effects = machine.handle(Event::Audio(speech(0.1)));
    assert_eq!(error_code(&effects), Some(ErrorCode::NotStarted));

    let (mut machine, _) = machine_with(interview(InterviewStatus::Completed, &QUESTIONS, &[]));
    let effects = machine.handle(Event::Audio(speech(0.1)));
    assert_eq!(error_code(&effects), Some(ErrorCode::InterviewOver));

    let mut machine = listening();
    type_answer(&mut machine, "An answer.");
    let effects = stream(&mut machine, &[speech(2.0), silence(2.0)].concat());
    assert!(
        effects.is_empty(),
        "the interviewer has the floor: {}",
        show(&effects)
    );
}

// ---- a spoken turn ----------------------------------------------------------------------

#[test]
fn hands_free_an_answer_ends_after_the_end_silence_and_is_transcribed() {
    let mut machine = listening();
    let effects = stream(&mut machine, &[silence(0.5), speech(1.5)].concat());
    assert_eq!(show(&effects), "speech_started");
    let effects = stream(&mut machine, &silence(1.0));
    assert!(effects.is_empty(), "a 1 s pause is thinking, not the end");
    let effects = stream(&mut machine, &silence(0.7));
    assert_eq!(show(&effects), "state:Transcribing transcribe");
    let audio_len = match &effects[1] {
        Effect::Transcribe { audio, .. } => audio.len(),
        _ => unreachable!(),
    };
    assert!(
        audio_len >= SAMPLE_RATE * 3 / 2,
        "the whole answer: {audio_len} samples"
    );

    let effects = machine.handle(Event::Transcribed {
        epoch: 0,
        took_ms: 120,
        result: Ok("  I designed a cache.  ".into()),
    });
    let (_, row, then) = the_store(effects);
    assert_eq!(row.text, "I designed a cache.", "trimmed");
    assert_eq!(
        (row.role.as_str(), row.kind.as_str()),
        ("candidate", "answer")
    );
    assert_eq!(row.transcription_ms, Some(120));
    assert!(row.audio_ms.is_some_and(|ms| ms >= 1500));
    match then {
        AfterStore::Answer {
            spoken: Some(spoken),
        } => assert!(
            (300..=700).contains(&spoken.first_word_ms),
            "the first word came 0.5 s into the turn (less the pre-roll): {} ms",
            spoken.first_word_ms
        ),
        other => panic!("expected a spoken answer, got {other:?}"),
    }
}

#[test]
fn push_to_talk_only_end_turn_ends_an_answer() {
    let mut machine = listening();
    machine.handle(Event::Client(ClientMsg::Mode {
        mode: InputMode::PushToTalk,
    }));
    let effects = stream(&mut machine, &[speech(1.0), silence(3.0)].concat());
    assert_eq!(
        show(&effects),
        "speech_started",
        "pauses never end the answer"
    );
    let effects = machine.handle(Event::Client(ClientMsg::EndTurn));
    assert_eq!(show(&effects), "state:Transcribing transcribe");
}

#[test]
fn end_turn_without_speech_is_ignored() {
    let mut machine = listening();
    stream(&mut machine, &silence(1.0));
    let effects = machine.handle(Event::Client(ClientMsg::EndTurn));
    assert!(effects.is_empty(), "{}", show(&effects));
    assert_eq!(machine.live_state(), LiveState::Listening);
}

#[test]
fn noise_that_transcribes_to_nothing_is_not_an_answer() {
    let mut machine = listening();
    stream(&mut machine, &speech(1.0));
    machine.handle(Event::Client(ClientMsg::EndTurn));
    let effects = machine.handle(Event::Transcribed {
        epoch: 0,
        took_ms: 50,
        result: Ok("   ".into()),
    });
    assert_eq!(show(&effects), "state:Listening");
}

#[test]
fn a_failed_transcription_asks_for_the_answer_again() {
    for (error, code) in [
        (InferenceError::Busy("speech"), ErrorCode::Busy),
        (InferenceError::Stopped("speech"), ErrorCode::Internal),
    ] {
        let mut machine = listening();
        stream(&mut machine, &speech(1.0));
        machine.handle(Event::Client(ClientMsg::EndTurn));
        let effects = machine.handle(Event::Transcribed {
            epoch: 0,
            took_ms: 50,
            result: Err(error),
        });
        assert_eq!(error_code(&effects), Some(code));
        assert_eq!(machine.live_state(), LiveState::Listening);
    }
}

#[test]
fn a_dropped_connection_drops_the_half_spoken_answer() {
    let mut machine = listening();
    stream(&mut machine, &speech(1.0));
    machine.handle(Event::Detached);
    machine.handle(Event::Attached);
    let effects = machine.handle(Event::Client(ClientMsg::EndTurn));
    assert!(
        effects.is_empty(),
        "nothing to transcribe: {}",
        show(&effects)
    );
}

// ---- the interviewer's reply ------------------------------------------------------------

#[test]
fn a_stored_answer_is_shown_then_the_interviewer_thinks() {
    let mut machine = listening();
    let effects = type_answer(&mut machine, "  I used a write-ahead log.  ");
    assert_eq!(
        show(&effects),
        "store:answer",
        "nothing is shown before it is stored"
    );
    let effects = store_ok(&mut machine, effects);
    assert_eq!(
        show(&effects),
        "transcript publish:Answered state:Thinking conduct"
    );
    let (_, request) = conduct_request(&effects);
    assert_eq!(request.question, QUESTIONS[0]);
    assert_eq!(request.answer, "I used a write-ahead log.");
    assert_eq!(request.next_question.as_deref(), Some(QUESTIONS[1]));
    assert!(!request.follow_up_asked);
}

#[test]
fn the_reply_streams_then_is_stored_then_the_feedback_follows_it() {
    let mut machine = listening();
    let effects = answered(&mut machine, "I used a write-ahead log.");
    let (epoch, _) = conduct_request(&effects);

    let effects = machine.handle(Event::ReplyPiece {
        epoch,
        text: "I see.".into(),
    });
    assert_eq!(show(&effects), "state:Speaking reply_delta");
    let effects = machine.handle(Event::ReplyWritten {
        epoch,
        turn: Some(turn(Move::FollowUp, "I see. Why a log?")),
    });
    assert_eq!(show(&effects), "reply_delta store:follow_up");
    match sent(&effects).as_slice() {
        [ServerMsg::ReplyDelta { text, .. }] => assert_eq!(text, " Why a log?"),
        other => panic!("{other:?}"),
    }
    let (epoch, row, then) = the_store(effects);
    assert_eq!(row.text, "I see. Why a log?");
    assert_eq!(row.question_position, Some(1));
    assert!(!row.interrupted && row.generation_ms.is_some());
    let effects = machine.handle(Event::Stored {
        epoch,
        then,
        result: Ok(Message::from(row)),
    });
    assert_eq!(show(&effects), "reply assess state:Listening");
}

#[test]
fn the_deltas_spell_the_stored_reply() {
    let mut machine = listening();
    let effects = answered(&mut machine, "I used a write-ahead log.");
    let (epoch, _) = conduct_request(&effects);
    let mut spoken = String::new();
    let mut collect = |effects: &[Effect]| {
        for message in sent(effects) {
            if let ServerMsg::ReplyDelta { text, .. } = message {
                spoken.push_str(text);
            }
        }
    };
    collect(&machine.handle(Event::ReplyPiece {
        epoch,
        text: "Thanks.".into(),
    }));
    let effects = machine.handle(Event::ReplyWritten {
        epoch,
        turn: Some(turn(Move::NextQuestion, "Thanks.How do you test it?")),
    });
    collect(&effects);
    assert_eq!(
        spoken, "Thanks. How do you test it?",
        "the acknowledgement and the question are separate sentences"
    );
}

#[test]
fn moves_set_the_kind_and_the_position_of_the_reply() {
    for (action, kind, position) in [
        (Move::FollowUp, "follow_up", 1),
        (Move::Reask, "reask", 1),
        (Move::Clarify, "clarify", 1),
        (Move::NextQuestion, "question", 2),
        (Move::Close, "closing", 1),
    ] {
        let mut machine = listening();
        let effects = answered(&mut machine, "An answer.");
        let effects = written(&mut machine, &effects, action, "Words.");
        let (_, row, _) = the_store(effects);
        assert_eq!(
            (row.kind.as_str(), row.question_position),
            (kind, Some(position)),
            "{action:?}"
        );
    }
}

#[test]
fn a_question_gets_at_most_one_extra_turn() {
    let mut machine = listening();
    answer_and_reply(&mut machine, "An answer.", Move::FollowUp, "Why?");
    let effects = answered(&mut machine, "Because.");
    let (_, request) = conduct_request(&effects);
    assert!(
        request.follow_up_asked,
        "the conductor is told the follow-up was used"
    );

    replied(&mut machine, &effects, Move::NextQuestion, "Next.");
    let effects = answered(&mut machine, "Fresh answer.");
    let (_, request) = conduct_request(&effects);
    assert!(!request.follow_up_asked, "a new question gets its own");
    assert_eq!(request.question, QUESTIONS[1]);
    assert_eq!(request.next_question, None, "it is the last question");
}

#[test]
fn each_reply_has_its_own_reproducible_seed() {
    let seeds: Vec<u64> = (0..2)
        .map(|_| {
            let mut machine = listening();
            let effects = answered(&mut machine, "An answer.");
            conduct_request(&effects).1.seed
        })
        .collect();
    assert_eq!(seeds[0], seeds[1], "same place, same seed");

    let mut machine = listening();
    let first = {
        let effects = answered(&mut machine, "An answer.");
        let seed = conduct_request(&effects).1.seed;
        replied(&mut machine, &effects, Move::FollowUp, "Why?");
        seed
    };
    let effects = answered(&mut machine, "Because.");
    assert_ne!(
        conduct_request(&effects).1.seed,
        first,
        "another turn, another seed"
    );
}

#[test]
fn barge_in_stops_the_reply_and_stores_what_was_said_as_interrupted() {
    let mut machine = listening();
    let effects = answered(&mut machine, "An answer.");
    let (epoch, request) = conduct_request(&effects);
    let cancelled = request.cancelled.clone();
    machine.handle(Event::ReplyPiece {
        epoch,
        text: "I see.".into(),
    });

    let effects = machine.handle(Event::Client(ClientMsg::Interrupt));
    assert!(effects.is_empty());
    assert!(
        cancelled.load(Ordering::Relaxed),
        "the conductor stops asking the model"
    );
    let effects = machine.handle(Event::ReplyPiece {
        epoch,
        text: " What next?".into(),
    });
    assert!(effects.is_empty(), "nothing more is said");
    let effects = machine.handle(Event::ReplyWritten {
        epoch,
        turn: Some(turn(Move::FollowUp, "I see. What next?")),
    });
    let (_, row, _) = the_store(effects);
    assert_eq!(row.text, "I see.");
    assert!(row.interrupted);
}

#[test]
fn interrupt_with_no_reply_in_flight_does_nothing() {
    let mut machine = listening();
    assert!(machine
        .handle(Event::Client(ClientMsg::Interrupt))
        .is_empty());
    assert_eq!(machine.live_state(), LiveState::Listening);
}

#[test]
fn a_reply_being_written_when_the_connection_drops_is_finished_and_stored() {
    let mut machine = listening();
    let effects = answered(&mut machine, "An answer.");
    let (epoch, request) = conduct_request(&effects);
    let cancelled = request.cancelled.clone();
    machine.handle(Event::Detached);
    assert!(!cancelled.load(Ordering::Relaxed));
    let effects = machine.handle(Event::ReplyWritten {
        epoch,
        turn: Some(turn(Move::FollowUp, "Why?")),
    });
    let (_, row, _) = the_store(effects);
    assert!(!row.interrupted);
}

#[test]
fn a_failed_conductor_lets_the_candidate_answer_again() {
    let mut machine = listening();
    let effects = answered(&mut machine, "An answer.");
    let (epoch, _) = conduct_request(&effects);
    let effects = machine.handle(Event::ReplyWritten { epoch, turn: None });
    assert_eq!(show(&effects), "error:Internal state:Listening");
}

#[test]
fn an_answer_that_cannot_be_stored_is_not_acknowledged() {
    let mut machine = listening();
    let effects = type_answer(&mut machine, "An answer.");
    let (epoch, _, then) = the_store(effects);
    let effects = machine.handle(Event::Stored {
        epoch,
        then,
        result: Err(WriteFailure::DatabaseUnavailable),
    });
    assert_eq!(
        show(&effects),
        "error:DatabaseUnavailable state:Listening",
        "no transcript, and the candidate may send it again"
    );
}

// ---- the end ----------------------------------------------------------------------------

#[test]
fn the_close_move_ends_the_interview_completed_and_the_report_comes_before_ended() {
    let mut machine = listening();
    let effects = answer_and_reply(&mut machine, "An answer.", Move::Close, "Thank you.");
    assert_eq!(
        show(&effects),
        "reply assess state:Idle mark_ended:Completed"
    );
    let effects = machine.handle(Event::EndMarked {
        reason: EndReason::Completed,
        at: db::now(),
        stored: true,
    });
    assert_eq!(
        show(&effects),
        "hurry_feedback",
        "ended waits for the last answer's feedback, and hurries it"
    );
    let effects = machine.handle(Event::Assessed(None));
    assert_eq!(show(&effects), "settle_report");
    let effects = machine.handle(Event::ReportSettled {
        reason: EndReason::Completed,
        report: None,
    });
    assert_eq!(show(&effects), "ended publish:Ended close:1000");
}

#[test]
fn finish_says_goodbye_stores_it_and_ends_finished() {
    let mut machine = listening();
    let effects = machine.handle(Event::Client(ClientMsg::Finish));
    assert_eq!(show(&effects), "state:Speaking reply_delta store:closing");
    let effects = store_ok(&mut machine, effects);
    assert_eq!(show(&effects), "reply state:Idle mark_ended:Finished");
    let effects = machine.handle(Event::EndMarked {
        reason: EndReason::Finished,
        at: db::now(),
        stored: true,
    });
    assert_eq!(show(&effects), "settle_report", "no feedback in flight");
}

#[test]
fn finish_before_the_start_ends_at_once() {
    let (mut machine, _) = machine_with(interview(InterviewStatus::Pending, &QUESTIONS, &[]));
    let effects = machine.handle(Event::Client(ClientMsg::Finish));
    assert_eq!(show(&effects), "mark_ended:Finished");
}

#[test]
fn finish_after_the_end_is_refused() {
    let (mut machine, _) = machine_with(interview(InterviewStatus::Completed, &QUESTIONS, &[]));
    let effects = machine.handle(Event::Client(ClientMsg::Finish));
    assert_eq!(show(&effects), "error:InterviewOver");
}

#[test]
fn finish_abandons_work_in_flight_and_its_late_results_are_dropped() {
    let mut machine = listening();
    let effects = answered(&mut machine, "An answer.");
    let (old_epoch, request) = conduct_request(&effects);
    let cancelled = request.cancelled.clone();

    machine.handle(Event::Client(ClientMsg::Finish));
    assert!(cancelled.load(Ordering::Relaxed));
    for late in [
        Event::ReplyPiece {
            epoch: old_epoch,
            text: "late".into(),
        },
        Event::ReplyWritten {
            epoch: old_epoch,
            turn: Some(turn(Move::FollowUp, "late")),
        },
        Event::Transcribed {
            epoch: old_epoch,
            took_ms: 1,
            result: Ok("late".into()),
        },
        Event::TimeUp { epoch: old_epoch },
    ] {
        let effects = machine.handle(late);
        assert!(effects.is_empty(), "{}", show(&effects));
    }
}

#[test]
fn the_time_limit_while_listening_closes_at_once() {
    let mut machine = listening();
    let effects = machine.handle(Event::TimeUp { epoch: 0 });
    assert_eq!(show(&effects), "state:Speaking reply_delta store:closing");
    match sent(&effects).as_slice() {
        [_, ServerMsg::ReplyDelta { text, .. }] => assert_eq!(text, prompts::TIME_UP),
        other => panic!("{other:?}"),
    }
    let effects = store_ok(&mut machine, effects);
    assert_eq!(show(&effects), "reply state:Idle mark_ended:TimeLimit");
}

#[test]
fn the_time_limit_during_a_reply_closes_after_it() {
    let mut machine = listening();
    let effects = answered(&mut machine, "An answer.");
    assert!(machine.handle(Event::TimeUp { epoch: 0 }).is_empty());
    let effects = replied(&mut machine, &effects, Move::FollowUp, "Why?");
    assert_eq!(
        show(&effects),
        "reply assess reply_delta store:closing",
        "the closing words follow the reply (still speaking)"
    );
}

#[test]
fn after_the_time_limit_no_next_question_is_offered_and_a_close_ends_for_time() {
    let mut machine = listening();
    let effects = type_answer(&mut machine, "An answer.");
    machine.handle(Event::TimeUp { epoch: 0 });
    let effects = store_ok(&mut machine, effects);
    let (epoch, request) = conduct_request(&effects);
    assert_eq!(request.next_question, None);
    let effects = machine.handle(Event::ReplyWritten {
        epoch,
        turn: Some(turn(Move::Close, "Thanks.")),
    });
    let effects = store_ok(&mut machine, effects);
    assert!(
        show(&effects).ends_with("mark_ended:TimeLimit"),
        "{}",
        show(&effects)
    );
}

#[test]
fn start_after_the_time_limit_closes_for_time() {
    let mut machine = listening();
    let effects = type_answer(&mut machine, "An answer.");
    // The time passes while the answer is being stored, and the store fails: the candidate
    // is listened to again, but the next start closes.
    assert!(machine.handle(Event::TimeUp { epoch: 0 }).is_empty());
    let (epoch, _, then) = the_store(effects);
    machine.handle(Event::Stored {
        epoch,
        then,
        result: Err(WriteFailure::Other),
    });
    assert_eq!(machine.live_state(), LiveState::Listening);
    let effects = machine.handle(Event::Client(ClientMsg::Start));
    assert_eq!(show(&effects), "state:Speaking reply_delta store:closing");
}

#[test]
fn feedback_is_sent_and_kept_for_the_next_ready() {
    let mut machine = listening();
    answer_and_reply(&mut machine, "An answer.", Move::FollowUp, "Why?");
    let feedback = TurnFeedback {
        id: "f1".into(),
        message_id: "m2".into(),
        question_position: 1,
        score: 4,
        rubric: Vec::new(),
        strength: "Clear.".into(),
        improvement: "Say why.".into(),
        source: FeedbackSource::Model,
        fallback_reason: None,
        flag: None,
        delivery: serde_json::Value::Null,
        created_at: Utc::now(),
    };
    let effects = machine.handle(Event::Assessed(Some(feedback)));
    assert_eq!(show(&effects), "feedback");
    let effects = machine.handle(Event::Attached);
    match sent(&effects).as_slice() {
        [ServerMsg::Ready { interview, .. }] => assert_eq!(interview.feedback.len(), 1),
        other => panic!("{other:?}"),
    }
}

// ---- assessments wait for the live turn -------------------------------------------------

#[test]
fn background_work_pauses_from_a_possible_end_of_answer_through_the_reply() {
    let mut machine = listening();
    assert!(!machine.wants_background_paused(), "listening to silence");
    stream(&mut machine, &speech(1.0));
    assert!(
        !machine.wants_background_paused(),
        "the candidate is talking"
    );
    stream(&mut machine, &silence(0.4));
    assert!(
        machine.wants_background_paused(),
        "quiet for 0.4 s: the answer may be ending"
    );
    stream(&mut machine, &speech(0.5));
    assert!(!machine.wants_background_paused(), "speech again lifts it");
    stream(&mut machine, &silence(1.6));
    assert_eq!(machine.live_state(), LiveState::Transcribing);
    assert!(machine.wants_background_paused(), "busy with the answer");

    let effects = machine.handle(Event::Transcribed {
        epoch: 0,
        took_ms: 1,
        result: Ok("An answer.".into()),
    });
    let effects = store_ok(&mut machine, effects);
    assert!(machine.wants_background_paused(), "thinking");
    replied(&mut machine, &effects, Move::FollowUp, "Why?");
    assert_eq!(machine.live_state(), LiveState::Listening);
    assert!(!machine.wants_background_paused(), "listening again");
}

#[test]
fn a_restart_forgets_the_interview_and_drops_the_old_lifes_results() {
    let mut machine = listening();
    let effects = type_answer(&mut machine, "An answer.");
    let (old_epoch, row, then) = the_store(effects);
    machine.handle(Event::Client(ClientMsg::Mode {
        mode: InputMode::PushToTalk,
    }));
    machine.restart();
    assert_eq!(machine.live_state(), LiveState::Idle);
    assert!(!machine.wants_background_paused());
    let effects = machine.handle(Event::Stored {
        epoch: old_epoch,
        then,
        result: Ok(Message::from(row)),
    });
    assert!(effects.is_empty(), "{}", show(&effects));

    let rows = [row_question()];
    machine.handle(Event::Loaded(Box::new(interview(
        InterviewStatus::InProgress,
        &QUESTIONS,
        &rows,
    ))));
    assert_eq!(machine.live_state(), LiveState::Listening);
    let effects = stream(&mut machine, &[speech(1.0), silence(2.0)].concat());
    assert_eq!(
        show(&effects),
        "speech_started",
        "still push-to-talk after the restart"
    );
}

fn row_question() -> MessageRow {
    row(1, MessageKind::Question, 1, QUESTIONS[0])
}

#[test]
fn debug_panic_is_an_unknown_message_to_the_machine() {
    let mut machine = listening();
    let effects = machine.handle(Event::Client(ClientMsg::DebugPanic));
    assert_eq!(show(&effects), "error:InvalidMessage");
}
