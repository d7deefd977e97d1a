//! `viva serve` and `viva migrate`.

use viva::config::Settings;
use viva::db;
use viva::startup::Application;

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    println!("viva is serving on {}", app.public_url());
    app.run_until_stopped().await?;
    Ok(())
}

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let database = settings.database();
    let ran = db::migrate(&database).await?;
    println!("{ran} migration(s) applied to {database}");
    Ok(())
}
