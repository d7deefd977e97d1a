//! The SQLite and Postgres migrations must build the same tables, columns and indexes.

use std::collections::BTreeSet;

use diesel::sql_types::{Integer, Text};
use diesel::{Connection, QueryableByName, SqliteConnection};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use viva::db::DatabaseUrl;

use crate::helpers::{loud, postgres_admin_url, PostgresTestDb};

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    column_type: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
}

/// (table, column, portable type, nullable)
type Shape = BTreeSet<(String, String, String, bool)>;

fn portable_type(raw: &str) -> String {
    match raw.to_lowercase().as_str() {
        "text" | "character varying" => "text",
        "bigint" => "bigint",
        "integer" | "int" => "integer",
        "boolean" | "bool" => "boolean",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "double precision" | "double" | "real" => "double",
        other => return format!("unmapped:{other}"),
    }
    .to_owned()
}

fn sqlite_shape(path: &std::path::Path) -> (Shape, BTreeSet<String>) {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).expect("open sqlite");
    use diesel::RunQueryDsl;
    let columns: Vec<SqliteColumn> = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name, p.type AS column_type, \
         p.\"notnull\" AS not_null, p.pk AS pk \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .expect("read sqlite columns");
    let indexes: Vec<Named> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'",
    )
    .load(&mut conn)
    .expect("read sqlite indexes");
    let shape = columns
        .into_iter()
        .map(|c| {
            let nullable = c.not_null == 0 && c.pk == 0;
            (
                c.table_name,
                c.column_name,
                portable_type(&c.column_type),
                nullable,
            )
        })
        .collect();
    (shape, indexes.into_iter().map(|i| i.name).collect())
}

async fn postgres_shape(url: &str) -> (Shape, BTreeSet<String>) {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .expect("open postgres");
    use diesel_async::RunQueryDsl;
    let columns: Vec<PgColumn> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .await
    .expect("read postgres columns");
    let indexes: Vec<Named> = diesel::sql_query(
        "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = 'public' \
         AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
    )
    .load(&mut conn)
    .await
    .expect("read postgres indexes");
    let shape = columns
        .into_iter()
        .map(|c| {
            (
                c.table_name,
                c.column_name,
                portable_type(&c.data_type),
                c.is_nullable == "YES",
            )
        })
        .collect();
    (shape, indexes.into_iter().map(|i| i.name).collect())
}

#[actix_web::test]
async fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let Some(admin_url) = postgres_admin_url() else {
        loud("SKIPPED: migration equivalence needs VIVA_TEST_POSTGRES_URL");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite_path = dir.path().join("schema.db");
    viva::db::migrate(&DatabaseUrl::Sqlite(sqlite_path.clone()))
        .await
        .expect("sqlite migrations");
    let pg = PostgresTestDb::create(&admin_url).await;
    viva::db::migrate(&DatabaseUrl::parse(&pg.url).expect("url"))
        .await
        .expect("postgres migrations");

    let (sqlite_columns, sqlite_indexes) = sqlite_shape(&sqlite_path);
    let (pg_columns, pg_indexes) = postgres_shape(&pg.url).await;
    assert!(sqlite_columns
        .iter()
        .any(|(t, c, _, _)| t == "users" && c == "email"));
    assert!(
        !sqlite_columns
            .iter()
            .any(|(_, _, ty, _)| ty.starts_with("unmapped")),
        "{sqlite_columns:?}"
    );
    let only_sqlite: Vec<_> = sqlite_columns.difference(&pg_columns).collect();
    let only_pg: Vec<_> = pg_columns.difference(&sqlite_columns).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "only in sqlite: {only_sqlite:?}\nonly in postgres: {only_pg:?}"
    );
    assert_eq!(sqlite_indexes, pg_indexes);
}

#[actix_web::test]
async fn migrations_are_idempotent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = DatabaseUrl::Sqlite(dir.path().join("nested/dir/viva.db"));
    assert!(viva::db::migrate(&url).await.expect("first run") > 0);
    assert_eq!(viva::db::migrate(&url).await.expect("second run"), 0);
}
