//! Which sentences of the interviewer's messages are spoken, in what order, and when a
//! message's voice is over. Pure bookkeeping: the session asks the voice worker for each
//! [`VoiceAction::Speak`] and feeds the audio back with [`Voicing::spoken`]; audio goes out
//! in sentence order whatever order it comes back in.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::domain::MessageId;
use crate::voice::sentences::SentenceSplitter;
use crate::voice::Audio;

/// What the session should do.
#[derive(Debug)]
pub enum VoiceAction {
    /// Ask the voice worker to speak this sentence.
    Speak {
        message_id: MessageId,
        sentence: usize,
        text: String,
        cancelled: Arc<AtomicBool>,
    },
    /// Send this sentence's audio to the page.
    Play {
        message_id: MessageId,
        sentence: usize,
        text: String,
        audio: Audio,
    },
    /// The message's voice is over: every sentence was sent, or it was interrupted.
    End {
        message_id: MessageId,
        sentences: usize,
        interrupted: bool,
    },
}

/// One message being spoken.
#[derive(Debug)]
struct Spoken {
    message_id: MessageId,
    splitter: SentenceSplitter,
    /// Sentences handed to the worker so far (the next one's index).
    asked: usize,
    /// The next sentence to send to the page.
    next_to_play: usize,
    /// Sentences back from the worker, waiting for earlier ones; `None`: it failed.
    back: BTreeMap<usize, Option<(String, Audio)>>,
    /// The whole message is known (`reply` was sent).
    complete: bool,
    cancelled: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
pub struct Voicing {
    messages: Vec<Spoken>,
}

impl Voicing {
    /// The next piece of a message's text (`reply_delta`).
    pub fn delta(&mut self, message_id: &MessageId, text: &str) -> Vec<VoiceAction> {
        let spoken = self.spoken_mut(message_id);
        let sentences = spoken.splitter.push(text);
        sentences
            .into_iter()
            .map(|sentence| spoken.ask(sentence))
            .collect()
    }

    /// The message is complete (`reply`): its last words are spoken, and the voice ends after
    /// them. An interrupted message stops here.
    pub fn complete(&mut self, message_id: &MessageId, interrupted: bool) -> Vec<VoiceAction> {
        if interrupted {
            return self.stop(message_id);
        }
        let Some(spoken) = self.find_mut(message_id) else {
            return Vec::new();
        };
        spoken.complete = true;
        let rest = spoken.splitter.finish();
        let mut actions: Vec<VoiceAction> = rest.into_iter().map(|r| spoken.ask(r)).collect();
        actions.extend(self.drain(message_id));
        actions
    }

    /// A sentence came back from the worker (`None`: it could not be spoken).
    pub fn spoken(
        &mut self,
        message_id: &MessageId,
        sentence: usize,
        text: String,
        audio: Option<Audio>,
    ) -> Vec<VoiceAction> {
        let Some(spoken) = self.find_mut(message_id) else {
            return Vec::new();
        };
        if spoken.cancelled.load(Ordering::Relaxed) {
            return Vec::new();
        }
        spoken.back.insert(sentence, audio.map(|a| (text, a)));
        self.drain(message_id)
    }

    /// Barge-in: every message still speaking stops now.
    pub fn interrupt(&mut self) -> Vec<VoiceAction> {
        let ids: Vec<MessageId> = self.messages.iter().map(|s| s.message_id.clone()).collect();
        ids.iter().flat_map(|id| self.stop(id)).collect()
    }

    /// Whether any message is still being spoken.
    #[cfg(test)]
    fn is_speaking(&self) -> bool {
        !self.messages.is_empty()
    }

    fn stop(&mut self, message_id: &MessageId) -> Vec<VoiceAction> {
        let Some(at) = self.position(message_id) else {
            return Vec::new();
        };
        let spoken = self.messages.remove(at);
        spoken.cancelled.store(true, Ordering::Relaxed);
        vec![VoiceAction::End {
            message_id: spoken.message_id,
            sentences: spoken.next_to_play,
            interrupted: true,
        }]
    }

    /// Sends what is ready in order; ends the message once all of it was sent.
    fn drain(&mut self, message_id: &MessageId) -> Vec<VoiceAction> {
        let Some(at) = self.position(message_id) else {
            return Vec::new();
        };
        let spoken = &mut self.messages[at];
        let mut actions = Vec::new();
        while let Some(back) = spoken.back.remove(&spoken.next_to_play) {
            if let Some((text, audio)) = back {
                actions.push(VoiceAction::Play {
                    message_id: spoken.message_id.clone(),
                    sentence: spoken.next_to_play,
                    text,
                    audio,
                });
            }
            spoken.next_to_play += 1;
        }
        if spoken.complete && spoken.next_to_play == spoken.asked {
            let done = self.messages.remove(at);
            actions.push(VoiceAction::End {
                message_id: done.message_id,
                sentences: done.asked,
                interrupted: false,
            });
        }
        actions
    }

    fn position(&self, message_id: &MessageId) -> Option<usize> {
        self.messages
            .iter()
            .position(|s| &s.message_id == message_id)
    }

    fn find_mut(&mut self, message_id: &MessageId) -> Option<&mut Spoken> {
        self.messages
            .iter_mut()
            .find(|s| &s.message_id == message_id)
    }

    fn spoken_mut(&mut self, message_id: &MessageId) -> &mut Spoken {
        let at = match self.position(message_id) {
            Some(at) => at,
            None => {
                self.messages.push(Spoken {
                    message_id: message_id.clone(),
                    splitter: SentenceSplitter::default(),
                    asked: 0,
                    next_to_play: 0,
                    back: BTreeMap::new(),
                    complete: false,
                    cancelled: Arc::new(AtomicBool::new(false)),
                });
                self.messages.len() - 1
            }
        };
        &mut self.messages[at]
    }
}

impl Spoken {
    fn ask(&mut self, text: String) -> VoiceAction {
        let sentence = self.asked;
        self.asked += 1;
        VoiceAction::Speak {
            message_id: self.message_id.clone(),
            sentence,
            text,
            cancelled: self.cancelled.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(n: usize) -> Audio {
        Audio {
            samples: vec![0.1; n],
            sample_rate: 22_050,
        }
    }

    fn spoken_sentences(actions: &[VoiceAction]) -> Vec<(usize, String)> {
        actions
            .iter()
            .filter_map(|a| match a {
                VoiceAction::Speak { sentence, text, .. } => Some((*sentence, text.clone())),
                _ => None,
            })
            .collect()
    }

    fn played(actions: &[VoiceAction]) -> Vec<usize> {
        actions
            .iter()
            .filter_map(|a| match a {
                VoiceAction::Play { sentence, .. } => Some(*sentence),
                _ => None,
            })
            .collect()
    }

    fn ended(actions: &[VoiceAction]) -> Option<(usize, bool)> {
        actions.iter().find_map(|a| match a {
            VoiceAction::End {
                sentences,
                interrupted,
                ..
            } => Some((*sentences, *interrupted)),
            _ => None,
        })
    }

    #[test]
    fn sentences_are_asked_as_they_are_written_and_played_in_order() {
        let mut voicing = Voicing::default();
        let id = MessageId::random();
        let first = voicing.delta(&id, "I see.");
        assert_eq!(spoken_sentences(&first), vec![(0, "I see.".to_owned())]);
        let later = voicing.delta(&id, " Why Rust? And why");
        assert_eq!(spoken_sentences(&later), vec![(1, "Why Rust?".to_owned())]);
        let last = voicing.complete(&id, false);
        assert_eq!(spoken_sentences(&last), vec![(2, "And why".to_owned())]);
        assert!(voicing.is_speaking());

        // The second sentence comes back first: it waits for the first.
        let out = voicing.spoken(&id, 1, "Why Rust?".into(), Some(audio(10)));
        assert!(played(&out).is_empty());
        let out = voicing.spoken(&id, 0, "I see.".into(), Some(audio(10)));
        assert_eq!(played(&out), vec![0, 1]);
        assert_eq!(ended(&out), None);
        // A sentence that failed is skipped; the voice still ends.
        let out = voicing.spoken(&id, 2, "And why".into(), None);
        assert!(played(&out).is_empty());
        assert_eq!(ended(&out), Some((3, false)));
        assert!(!voicing.is_speaking());
    }

    #[test]
    fn an_interrupt_cancels_what_is_left_and_ends_at_once() {
        let mut voicing = Voicing::default();
        let id = MessageId::random();
        let asked = voicing.delta(&id, "One. Two. Three.");
        let cancelled: Vec<Arc<AtomicBool>> = asked
            .iter()
            .filter_map(|a| match a {
                VoiceAction::Speak { cancelled, .. } => Some(cancelled.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(cancelled.len(), 3);
        let out = voicing.spoken(&id, 0, "One.".into(), Some(audio(5)));
        assert_eq!(played(&out), vec![0]);
        let out = voicing.interrupt();
        assert_eq!(ended(&out), Some((1, true)));
        assert!(cancelled.iter().all(|c| c.load(Ordering::Relaxed)));
        // Late audio and the completed message change nothing.
        assert!(voicing
            .spoken(&id, 1, "Two.".into(), Some(audio(5)))
            .is_empty());
        assert!(voicing.complete(&id, false).is_empty());
        assert!(!voicing.is_speaking());
    }

    #[test]
    fn a_message_completed_as_interrupted_stops_and_a_whole_text_ends_after_its_audio() {
        let mut voicing = Voicing::default();
        let cut = MessageId::random();
        voicing.delta(&cut, "Half a sentence");
        assert_eq!(ended(&voicing.complete(&cut, true)), Some((0, true)));

        let whole = MessageId::random();
        assert_eq!(voicing.delta(&whole, "Welcome.").len(), 1);
        assert!(ended(&voicing.complete(&whole, false)).is_none());
        let out = voicing.spoken(&whole, 0, "Welcome.".into(), Some(audio(3)));
        assert_eq!(played(&out), vec![0]);
        assert_eq!(ended(&out), Some((1, false)));
    }
}
