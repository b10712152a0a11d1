package secrets

// missingScript prints each argument that is not a non-empty file.
const missingScript = `
for path in "$@"; do
  [ -s "$path" ] || printf '%s\n' "$path"
done
`
