package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

const (
	defaultUser              = "root"
	defaultConnectTimeout    = "30s"
	defaultCommandTimeout    = "10m"
	defaultKeepaliveInterval = "15s"
	defaultKeepaliveCountMax = 3
	defaultMaxSessions       = 8
	defaultMaxBuildsPerHost  = 2
	defaultHealthTimeout     = "2m"
)

// providerData is what Configure hands to every resource and data source:
// the settings and the one connection pool of this provider process.
type providerData struct {
	defaultUser     string
	knownHostsFiles []string
	healthTimeout   time.Duration
	// pool is nil while the provider configuration still has unknown values
	// (possible during plan); anything that needs a connection reports that.
	pool       *remote.Pool
	poolConfig remote.Config
	// facts holds each runtime's facts for the rest of a refresh.
	facts factsCache
	// deploys coalesces the deploys of one runtime within an apply.
	deploys deployBatches
	// builds bounds the builds running at once on each host.
	builds *buildSlots
}

func newProviderData(ctx context.Context, config providerModel) (*providerData, diag.Diagnostics) {
	var diags diag.Diagnostics
	data := &providerData{
		defaultUser:   stringOr(config.User, envOr("FEDIVERSITY_SSH_USER", defaultUser)),
		healthTimeout: durationOr(config.HealthTimeout, defaultHealthTimeout),
		builds:        &buildSlots{size: int(int64Or(config.MaxBuildsPerHost, defaultMaxBuildsPerHost))},
	}
	if file := stringOr(config.KnownHostsFile, os.Getenv("FEDIVERSITY_KNOWN_HOSTS_FILE")); file != "" {
		data.knownHostsFiles = []string{expandHome(file)}
	}
	if anyUnknown(config.HealthTimeout, config.User, config.PrivateKey, config.PrivateKeyFile, config.SSHAgent, config.KnownHostsFile,
		config.ConnectTimeout, config.CommandTimeout, config.KeepaliveInterval, config.KeepaliveCountMax, config.MaxSessions) {
		tflog.Debug(ctx, "provider configuration has unknown values; connections wait for apply")
		return data, diags
	}
	auth, err := authMethods(config)
	if err != nil {
		diags.AddError("Invalid SSH Credentials", err.Error())
		return nil, diags
	}
	cfg := remote.Config{
		Auth:              auth,
		KnownHostsFiles:   data.knownHostsFiles,
		ConnectTimeout:    durationOr(config.ConnectTimeout, defaultConnectTimeout),
		CommandTimeout:    durationOr(config.CommandTimeout, defaultCommandTimeout),
		KeepaliveInterval: durationOr(config.KeepaliveInterval, defaultKeepaliveInterval),
		KeepaliveCountMax: int(int64Or(config.KeepaliveCountMax, defaultKeepaliveCountMax)),
		MaxSessions:       int(int64Or(config.MaxSessions, defaultMaxSessions)),
	}
	data.pool, data.poolConfig = remote.NewPool(cfg), cfg
	return data, diags
}

// withKey is this provider's settings with another client key, inline or
// in a file: the credentials another hosting provider gave for its
// machines (a migration's source). With neither, it is d itself.
func (d *providerData) withKey(privateKey, privateKeyFile types.String) (*providerData, error) {
	if privateKey.ValueString() == "" && privateKeyFile.ValueString() == "" {
		return d, nil
	}
	if d.pool == nil {
		return nil, errors.New("the provider configuration is not known yet")
	}
	signer, err := privateKeySigner(providerModel{PrivateKey: privateKey, PrivateKeyFile: privateKeyFile})
	if err != nil {
		return nil, err
	}
	cfg := d.poolConfig
	cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(signer)}
	return &providerData{defaultUser: d.defaultUser, knownHostsFiles: d.knownHostsFiles, healthTimeout: d.healthTimeout,
		pool: remote.NewPool(cfg), poolConfig: cfg, builds: d.builds}, nil
}

// configuredData is what every resource and data source does in Configure:
// take the provider's data, which is nil before the provider is configured.
func configuredData(data any, diags *diag.Diagnostics) *providerData {
	if data == nil {
		return nil
	}
	d, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data", fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider.", data))
	}
	return d
}

// connectionPool returns the pool or a diagnostic saying why there is none.
func (d *providerData) connectionPool(attribute path.Path) (*remote.Pool, diag.Diagnostic) {
	if d == nil || d.pool == nil {
		return nil, diag.NewAttributeErrorDiagnostic(attribute, "Provider Configuration Not Known Yet",
			"The fediversity provider block depends on values that are only known after apply, so no host can be contacted yet. "+
				"Make the provider's credentials known at plan time (for example from variables or files).")
	}
	return d.pool, nil
}

// authMethods gathers every way the provider may authenticate, in the order
// OpenSSH's client tries them: explicit key first, then the agent.
func authMethods(config providerModel) ([]ssh.AuthMethod, error) {
	var methods []ssh.AuthMethod
	signer, err := privateKeySigner(config)
	if err != nil {
		return nil, err
	}
	if signer != nil {
		methods = append(methods, ssh.PublicKeys(signer))
	}
	useAgent := boolOr(config.SSHAgent, signer == nil && os.Getenv("SSH_AUTH_SOCK") != "")
	if useAgent {
		agentAuth, err := agentAuthMethod()
		if err != nil {
			return nil, err
		}
		methods = append(methods, agentAuth)
	}
	if len(methods) == 0 {
		return nil, errors.New("the provider has no way to authenticate: set private_key_file (or $FEDIVERSITY_SSH_PRIVATE_KEY_FILE), private_key, or ssh_agent = true with $SSH_AUTH_SOCK set")
	}
	return methods, nil
}

func privateKeySigner(config providerModel) (ssh.Signer, error) {
	pem := []byte(config.PrivateKey.ValueString())
	source := "private_key"
	if file := stringOr(config.PrivateKeyFile, os.Getenv("FEDIVERSITY_SSH_PRIVATE_KEY_FILE")); len(pem) == 0 && file != "" {
		content, err := os.ReadFile(expandHome(file))
		if err != nil {
			return nil, fmt.Errorf("private_key_file: %w", err)
		}
		pem, source = content, "private_key_file "+file
	}
	if len(pem) == 0 {
		return nil, nil
	}
	return parsePrivateKey(pem, source)
}

func parsePrivateKey(pem []byte, source string) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("%s is encrypted with a passphrase: load it into an ssh-agent and set ssh_agent = true instead", source)
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not a usable SSH private key (%w): give an unencrypted OpenSSH or PEM private key", source, err)
	}
	return signer, nil
}

func agentAuthMethod() (ssh.AuthMethod, error) {
	socket := os.Getenv("SSH_AUTH_SOCK")
	if socket == "" {
		return nil, errors.New("ssh_agent = true but $SSH_AUTH_SOCK is not set: start an agent or give private_key_file")
	}
	conn, err := net.Dial("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("ssh_agent: cannot reach the agent at %s: %w", socket, err)
	}
	return ssh.PublicKeysCallback(agent.NewClient(conn).Signers), nil
}

func anyUnknown(values ...attr.Value) bool {
	for _, v := range values {
		if v.IsUnknown() {
			return true
		}
	}
	return false
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func stringOr(v types.String, fallback string) string {
	if v.IsNull() || v.IsUnknown() {
		return fallback
	}
	return v.ValueString()
}

func boolOr(v types.Bool, fallback bool) bool {
	if v.IsNull() || v.IsUnknown() {
		return fallback
	}
	return v.ValueBool()
}

func int64Or(v types.Int64, fallback int64) int64 {
	if v.IsNull() || v.IsUnknown() {
		return fallback
	}
	return v.ValueInt64()
}

// durationOr parses a duration that its validator already accepted.
func durationOr(v types.String, fallback string) time.Duration {
	d, err := time.ParseDuration(stringOr(v, fallback))
	if err != nil {
		d, _ = time.ParseDuration(fallback)
	}
	return d
}

// expandHome reads a leading ~/ as the user's home directory, as OpenSSH
// does for key files.
func expandHome(file string) string {
	rest, ok := strings.CutPrefix(file, "~/")
	if !ok {
		return file
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return file
	}
	return filepath.Join(home, rest)
}
