//! Shared pieces of the property tests that feed generated and mutated input to every parser of
//! untrusted bytes (audio, protocol frames, resumes, settings, model files).

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;

/// `cases` generated inputs per property, no regression files written next to the sources: a
/// failure found this way is kept as a plain unit test beside the fix.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// One change to a valid file.
#[derive(Debug, Clone)]
pub enum Edit {
    Byte(Index, u8),
    /// A little-endian `u32` written over four bytes: where a length, count or rate sits, this
    /// is how a header declares something absurd.
    Word32(Index, u32),
    Word64(Index, u64),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
}

/// Numbers that break length arithmetic more often than random ones do.
fn word32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(2),
        Just(0xff),
        Just(0xffff),
        Just(0x7fff_ffff),
        Just(0x8000_0000),
        Just(u32::MAX - 1),
        Just(u32::MAX),
        any::<u32>(),
    ]
}

fn word64() -> impl Strategy<Value = u64> {
    prop_oneof![
        word32().prop_map(u64::from),
        Just(1u64 << 32),
        Just(1u64 << 40),
        Just(i64::MAX as u64),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        3 => (any::<Index>(), word32()).prop_map(|(at, w)| Edit::Word32(at, w)),
        2 => (any::<Index>(), word64()).prop_map(|(at, w)| Edit::Word64(at, w)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        1 => (any::<Index>(), 1usize..16).prop_map(|(at, n)| Edit::Remove(at, n)),
    ]
}

fn overwrite(bytes: &mut [u8], at: &Index, word: &[u8]) {
    if bytes.len() >= word.len() {
        let start = at.index(bytes.len() - word.len() + 1);
        bytes[start..start + word.len()].copy_from_slice(word);
    }
}

/// Applies `edits` in order to `bytes`.
pub fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        match edit {
            Edit::Byte(at, value) => {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = *value;
                }
            }
            Edit::Word32(at, value) => overwrite(&mut bytes, at, &value.to_le_bytes()),
            Edit::Word64(at, value) => overwrite(&mut bytes, at, &value.to_le_bytes()),
            Edit::Truncate(at) => {
                let len = at.index(bytes.len() + 1);
                bytes.truncate(len);
            }
            Edit::Insert(at, inserted) => {
                let i = at.index(bytes.len() + 1);
                bytes.splice(i..i, inserted.iter().copied());
            }
            Edit::Remove(at, n) => {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    let end = (i + n).min(bytes.len());
                    bytes.drain(i..end);
                }
            }
        }
    }
    bytes
}

/// `valid` with one to five edits.
pub fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(edit(), 1..6).prop_map(move |edits| apply(valid.clone(), &edits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_stay_inside_the_bytes() {
        let bytes = apply(vec![1, 2, 3], &[Edit::Word64(any_index(), u64::MAX)]);
        assert_eq!(
            bytes,
            vec![1, 2, 3],
            "a word longer than the file is not written"
        );
        let bytes = apply(vec![0; 8], &[Edit::Word32(any_index(), 0x0403_0201)]);
        assert_eq!(bytes.len(), 8);
        assert!(bytes.windows(4).any(|w| w == [1, 2, 3, 4]));
        assert!(apply(Vec::new(), &[Edit::Byte(any_index(), 1)]).is_empty());
    }

    fn any_index() -> Index {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        any::<Index>()
            .new_tree(&mut runner)
            .map(|tree| tree.current())
            .unwrap_or_else(|e| panic!("{e}"))
    }
}
