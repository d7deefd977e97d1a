//! `viva admin`: manage accounts from the command line.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};

use super::AdminCommand;
use viva::auth::accounts::Registration;
use viva::auth::hashing::{HashLimits, Hasher};
use viva::auth::Accounts;
use viva::config::Settings;
use viva::db::{self, DbPool, PoolOptions};
use viva::domain::Role;

pub async fn run(command: AdminCommand, settings: &Settings) -> anyhow::Result<()> {
    match command {
        AdminCommand::Create {
            email,
            role,
            display_name,
        } => create(settings, &email, &role, &display_name).await,
    }
}

/// Creates an account, or changes an existing account's role.
async fn create(
    settings: &Settings,
    email: &str,
    role: &str,
    display_name: &str,
) -> anyhow::Result<()> {
    let role = Role::parse(role)?;
    let password = read_password()?;
    let database = settings.database();
    db::migrate(&database).await?;
    let pool = DbPool::connect(
        &database,
        &PoolOptions {
            max_size: 1,
            timeout: settings.db_timeout,
        },
    )?;
    let limits = HashLimits::new(
        settings.password_hash_concurrency,
        settings.password_hash_queue,
    );
    let accounts = Accounts::new(pool, Hasher::new(limits)?);
    let (user, created) = accounts
        .create_or_promote(Registration {
            email,
            password: &password,
            display_name,
            role,
        })
        .await?;
    let verb = if created {
        "created"
    } else {
        "updated (password unchanged)"
    };
    println!("{verb} {} <{}> as {}", user.id, user.email, user.role);
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}
