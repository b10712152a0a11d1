package containers

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// conf is /etc/nixos-containers/NAME.conf, as nixos-container writes it.
// HOST_ADDRESS is the host's own sandbox address; there is no veth pair:
// containers share the machine's network, each on its LOCAL_ADDRESS.
type conf struct {
	hostAddress  string
	localAddress string
}

func (c conf) render() string {
	return "PRIVATE_NETWORK=1\n" +
		"HOST_ADDRESS=" + c.hostAddress + "\n" +
		"LOCAL_ADDRESS=" + c.localAddress + "\n" +
		"AUTO_START=0\n"
}

// readConf reads a container's conf; errNoContainer when there is none.
func readConf(path string) (conf, error) {
	values, err := readKeyValues(path)
	if errors.Is(err, fs.ErrNotExist) {
		return conf{}, errNoContainer
	}
	return conf{hostAddress: values["HOST_ADDRESS"], localAddress: values["LOCAL_ADDRESS"]}, err
}

var errNoContainer = errors.New("no such container")

// existing returns a container that has a conf.
func existing(name string) (container, conf, error) {
	if err := checkName(name); err != nil {
		return container{}, conf{}, err
	}
	c := container{name}
	cf, err := readConf(c.confFile())
	if err != nil {
		if errors.Is(err, errNoContainer) {
			err = fmt.Errorf("container ‘%s’ does not exist", name)
		}
		return c, cf, err
	}
	return c, cf, nil
}

// readKeyValues parses KEY=VALUE lines, as systemd's EnvironmentFile= does
// for the simple values nixos-container writes.
func readKeyValues(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	values := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if key, value, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			values[key] = value
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return values, nil
}
