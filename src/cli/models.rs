//! `viva models`: fetch, verify and convert model files.

use anyhow::bail;

use super::ModelsCommand;
use viva::config::Settings;

pub fn run(command: ModelsCommand, settings: &Settings) -> anyhow::Result<()> {
    match command {
        ModelsCommand::Fetch => {
            let models = viva::fetch::ensure_default_models(&settings.models_dir)?;
            println!("whisper\t{}", models.whisper_dir.display());
            println!("llm\t{}", models.llm_file.display());
            println!("encoder\t{}", models.encoder_dir.display());
            println!("judge\t{}", models.judge_file.display());
            let voice = viva::fetch::ensure_voice(&settings.models_dir)?;
            println!("voice\t{}", voice.model.display());
            println!("onnxruntime\t{}", voice.onnxruntime.display());
            println!("espeak-ng\t{}", voice.espeak_library.display());
        }
        ModelsCommand::Verify => {
            let checks = viva::fetch::verify(&settings.models_dir)?;
            if checks.is_empty() {
                bail!(
                    "no model files recorded in {}; run `viva models fetch`",
                    settings.models_dir.display()
                );
            }
            let mut bad = 0;
            for check in &checks {
                let state = match (&check.actual, check.ok()) {
                    (None, _) => "MISSING",
                    (Some(_), false) => "MISMATCH",
                    (Some(_), true) if check.pinned => "ok (pinned)",
                    (Some(_), true) => "ok",
                };
                bad += usize::from(!check.ok());
                println!("{state}\t{}", check.path);
            }
            if bad > 0 {
                bail!("{bad} model file(s) failed verification");
            }
        }
        ModelsCommand::ConvertCt2 { dir, out } => {
            let out = out.unwrap_or_else(|| settings.whisper_model_dir());
            let report = viva::fetch::convert_ct2_dir(&dir, &out)?;
            println!(
                "wrote {} tensors to {}",
                report.tensor_count,
                report.out_dir.display()
            );
        }
    }
    Ok(())
}
