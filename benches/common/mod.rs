//! What the live benches share: viva with the default models, served in-process on a thread of
//! its own over SQLite.

use std::path::PathBuf;
use std::sync::mpsc;

use viva::config::{Settings, VoiceMode};
use viva::db::DatabaseUrl;
use viva::inference::Engines;
use viva::startup::Application;

use super::support;

/// Starts viva on a free port with `data_dir` for its database; returns the port. No limits
/// get in a bench's way: no capacity cap, and room for the many accounts and interviews the
/// rounds create. `VIVA_JUDGE_MODEL=none` measures without the judge, for comparison. With
/// `voice` = local the default voice is fetched into target/test-models and speaks every
/// message, as a default server does; where it cannot be fetched the bench says so and runs
/// with the browser's voice.
pub fn start_server(data_dir: PathBuf, voice: VoiceMode) -> u16 {
    let models = support::test_models().expect("default models");
    let voice = match voice {
        VoiceMode::Local => match support::test_voice_files() {
            Ok(_) => VoiceMode::Local,
            Err(e) => {
                support::unavailable(&format!(
                    "the default voice ({e}); the browser's voice instead"
                ));
                VoiceMode::Browser
            }
        },
        other => other,
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let settings = Settings {
                bind: "127.0.0.1:0".parse().expect("address"),
                database_url: Some(DatabaseUrl::Sqlite(data_dir.join("viva.db"))),
                data_dir,
                workers: 1,
                fetch_models: false,
                whisper_model: models.whisper_dir,
                llm_model: models.llm_file,
                encoder_model: models.encoder_dir,
                judge_model: std::env::var_os("VIVA_JUDGE_MODEL")
                    .map(PathBuf::from)
                    .unwrap_or(models.judge_file),
                log_level: "error".into(),
                max_live_interviews_per_user: 1_000,
                max_live_interviews: Some(0),
                max_interviews_per_hour: 1_000,
                register_max_per_ip: 100_000,
                models_dir: support::test_models_dir(),
                voice,
                ..Settings::default()
            };
            let engines = Engines::load(&settings).expect("models load");
            let app = Application::build_with_engines(settings, Some(engines))
                .await
                .expect("viva starts");
            tx.send(app.port()).expect("send port");
            app.run_until_stopped().await.expect("serve");
        })
    });
    rx.recv().expect("server port")
}
