// Package remote is the SSH transport shared by every resource of one
// provider process.
//
// A Pool keeps one connection per host (address, port, user and pinned key
// set), dialled lazily and replaced when it dies. Each connection verifies the
// host key against pinned keys or known_hosts entries (never trust on first
// use), sends keepalives so that a silently dropped link fails within a known
// budget, and multiplexes a bounded number of sessions. Every remote command is
// built from an argument list by Quote and runs under a timeout; Upload writes
// a file atomically with its owner and mode set before the first byte.
//
// Errors are typed so that callers can tell a host that is briefly away
// (IsTransient) from one that must not be trusted or rejected our credentials.
package remote
