package provider

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// DNS records come out as a list of objects a DNS provider resource can
// consume with for_each: name, type, value and TTL.
var dnsRecordTypes = map[string]attr.Type{
	"name": types.StringType, "type": types.StringType, "value": types.StringType, "ttl": types.Int64Type,
}

const dnsTTL = 3600

type dnsRecord struct {
	Name  string `tfsdk:"name"`
	Type  string `tfsdk:"type"`
	Value string `tfsdk:"value"`
	TTL   int64  `tfsdk:"ttl"`
}

func dnsRecordList(ctx context.Context, records []dnsRecord) (types.List, diag.Diagnostics) {
	return types.ListValueFrom(ctx, types.ObjectType{AttrTypes: dnsRecordTypes}, records)
}

// addressRecord points name at the host: A or AAAA for an IP address,
// CNAME for a host name.
func addressRecord(name, address string) dnsRecord {
	ip := net.ParseIP(address)
	switch {
	case ip == nil:
		return dnsRecord{Name: name, Type: "CNAME", Value: strings.TrimSuffix(address, ".") + ".", TTL: dnsTTL}
	case ip.To4() != nil:
		return dnsRecord{Name: name, Type: "A", Value: address, TTL: dnsTTL}
	default:
		return dnsRecord{Name: name, Type: "AAAA", Value: address, TTL: dnsTTL}
	}
}

// mailRecords are what an operator's domain needs to receive mail and to
// have its mail trusted: the mail host, MX, SPF, DKIM and DMARC.
func mailRecords(domain, hostAddress, dkimPublicKey, contact string) []dnsRecord {
	mailHost := "mail." + domain
	return []dnsRecord{
		addressRecord(mailHost, hostAddress),
		{Name: domain, Type: "MX", Value: "10 " + mailHost + ".", TTL: dnsTTL},
		{Name: domain, Type: "TXT", Value: "v=spf1 mx -all", TTL: dnsTTL},
		{Name: "default._domainkey." + domain, Type: "TXT", Value: "v=DKIM1; k=rsa; p=" + dkimPublicKey, TTL: dnsTTL},
		{Name: "_dmarc." + domain, Type: "TXT", Value: "v=DMARC1; p=quarantine; rua=mailto:" + contact, TTL: dnsTTL},
	}
}

// dkimKeyPath is where the operator's DKIM private key is generated on the
// host, at maddy's conventional place (see internal/modules/nixos/mail.nix).
func dkimKeyPath(domain string) string {
	return "/var/lib/maddy/dkim_keys/" + domain + "_default.key"
}

// pemBody is the base64 of a PEM block without its armour: the p= of DKIM.
func pemBody(pem string) (string, error) {
	var body strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(pem), "\n") {
		if !strings.HasPrefix(line, "-----") {
			body.WriteString(strings.TrimSpace(line))
		}
	}
	if body.Len() == 0 {
		return "", fmt.Errorf("no key in %q", pem)
	}
	return body.String(), nil
}
