package provider

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	goversion "github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"golang.org/x/crypto/ssh"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// stringCheck adapts a plain check function to a framework validator. Checks
// run at plan time on known values only, so nothing touches a machine for a
// malformed value and unknown values pass until they are known.
type stringCheck struct {
	summary     string
	description string
	check       func(string) error
}

var _ validator.String = stringCheck{}

func (v stringCheck) Description(context.Context) string         { return v.description }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.description }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, fmt.Sprintf("%s: %s", req.Path, err))
	}
}

var (
	dnsLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	unixUser = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
)

func addressValidator() validator.String {
	return stringCheck{"Invalid Host Address", "an IP address or DNS name", checkAddress}
}

func checkAddress(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	if host, port, err := net.SplitHostPort(s); err == nil {
		return fmt.Errorf("%q carries a port; set address = %q and port = %s", s, host, port)
	}
	if len(s) == 0 || len(s) > 253 {
		return fmt.Errorf("%q is not an IP address or a DNS name of 1 to 253 characters", s)
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if !dnsLabel.MatchString(label) {
			return fmt.Errorf("%q is neither an IP address nor a DNS name: each dot-separated label must be 1-63 letters, digits or inner hyphens", s)
		}
	}
	return nil
}

func userValidator() validator.String {
	return stringCheck{"Invalid SSH User", "a POSIX user name", checkUser}
}

func checkUser(s string) error {
	if !unixUser.MatchString(s) {
		return fmt.Errorf("%q is not a user name: use lower-case letters, digits, '_' or '-', starting with a letter or '_', at most 32 characters (e.g. \"root\")", s)
	}
	return nil
}

func hostKeyValidator() validator.String {
	return stringCheck{"Invalid Host Key", "one SSH public key in authorized_keys format", func(s string) error {
		_, err := parseHostKey(s)
		return err
	}}
}

// parseHostKey accepts exactly one public key such as "ssh-ed25519 AAAA... comment".
func parseHostKey(s string) (ssh.PublicKey, error) {
	return remote.ParseAuthorizedKey(s)
}

func privateKeyValidator() validator.String {
	return stringCheck{"Invalid SSH Private Key", "an unencrypted SSH private key", func(s string) error {
		_, err := parsePrivateKey([]byte(s), "private_key")
		return err
	}}
}

func durationValidator() validator.String {
	return stringCheck{"Invalid Duration", "a positive Go duration", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration: write it like \"30s\", \"5m\" or \"1h30m\"", s)
		}
		return nil
	}}
}

func versionValidator() validator.String {
	return stringCheck{"Invalid Version", "a version number", func(s string) error {
		if _, err := goversion.NewVersion(s); err != nil {
			return fmt.Errorf("%q is not a version number: write it like \"2.18\" or \"2.24.10\"", s)
		}
		return nil
	}}
}
