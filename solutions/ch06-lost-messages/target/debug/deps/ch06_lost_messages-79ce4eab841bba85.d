/work/main/solutions/ch06-lost-messages/target/debug/deps/ch06_lost_messages-79ce4eab841bba85.d: /work/main/clippy.toml src/lib.rs Cargo.toml

/work/main/solutions/ch06-lost-messages/target/debug/deps/libch06_lost_messages-79ce4eab841bba85.rmeta: /work/main/clippy.toml src/lib.rs Cargo.toml

/work/main/clippy.toml:
src/lib.rs:
Cargo.toml:

# env-dep:CLIPPY_ARGS=
# env-dep:CLIPPY_CONF_DIR
