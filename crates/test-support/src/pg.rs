//! The test PostgreSQL server that `cargo xtask test` starts and names in
//! `CDS_TEST_PG` (libpq style, without a database name: each test makes its
//! own database, so tests run in parallel on one server).

/// The server's connection string; panics with how to get one.
pub fn server() -> String {
    match std::env::var("CDS_TEST_PG") {
        Ok(s) if !s.trim().is_empty() => s,
        _ => panic!(
            "this test needs a PostgreSQL server: run `cargo xtask test` (it starts one), \
             or set CDS_TEST_PG, e.g. CDS_TEST_PG='host=/tmp/pg port=5432 user=postgres'"
        ),
    }
}

/// The value of `key=` in a libpq connection string.
pub fn conninfo_value(conninfo: &str, key: &str) -> Option<String> {
    conninfo
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

/// A connection to the server's `postgres` database, for making databases
/// and looking into them.
pub async fn admin() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &format!("{} dbname=postgres", server()),
        tokio_postgres::NoTls,
    )
    .await
    .expect("test PostgreSQL: cannot connect (is CDS_TEST_PG right?)");
    tokio::spawn(connection);
    client
}

/// A fresh database name starting with `prefix`.
pub fn database_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Creates database `name`.
pub async fn create_database(name: &str) {
    admin()
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("test PostgreSQL: CREATE DATABASE");
}

/// A new, empty database named from `prefix`; its connection string.
pub async fn fresh_database(prefix: &str) -> String {
    let name = database_name(prefix);
    create_database(&name).await;
    format!("{} dbname={name}", server())
}
