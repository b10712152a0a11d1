package netstat

import (
	"net"
	"testing"
)

func TestParseAddress(t *testing.T) {
	l, ok := ParseAddress("C800007F:0016") // 127.0.0.200:22 on little-endian
	if !ok || l.Port != 22 {
		t.Fatalf("%+v %v", l, ok)
	}
	if s := l.IP.String(); s != "127.0.0.200" && s != "200.0.0.127" {
		t.Errorf("ip %s", s)
	}
	for _, bad := range []string{"", "C800007F", "ZZ00007F:0016", "C800007F:XYZ"} {
		if _, ok := ParseAddress(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestOn(t *testing.T) {
	exact := Listener{IP: net.IPv4(127, 0, 0, 9).To4(), Port: 80}
	wildcard := Listener{IP: net.IPv4zero.To4(), Port: 22}
	for _, c := range []struct {
		l       Listener
		address string
		port    int
		want    bool
	}{
		{exact, "127.0.0.9", 80, true},
		{exact, "127.0.0.9", 0, true}, // any port
		{exact, "127.0.0.9", 22, false},
		{exact, "127.0.0.8", 0, false},
		{wildcard, "127.0.0.9", 22, true},
		{wildcard, "127.0.0.9", 0, false}, // a wildcard listener owns no address
	} {
		if got := c.l.On(c.address, c.port); got != c.want {
			t.Errorf("%v.On(%s, %d) = %v", c.l, c.address, c.port, got)
		}
	}
}

func TestAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if !AddressInUse("127.0.0.1") || !Listening("127.0.0.1", port) {
		t.Errorf("a listener on 127.0.0.1:%d is not seen", port)
	}
}
