package containers

import (
	"fmt"
	"regexp"
)

// maxNameLength is nixos-container's limit: the name becomes part of
// network interface names (ve-NAME), which have at most 15 characters.
const maxNameLength = 11

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// checkName refuses what nixos-container refuses, and upper case letters,
// which the provider never makes.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("no container name specified")
	case !namePattern.MatchString(name):
		return fmt.Errorf("invalid container name ‘%s’: want a lower-case letter, then lower-case letters, digits or ‘-’", name)
	case len(name) > maxNameLength:
		return fmt.Errorf("container name ‘%s’ is too long (at most %d characters)", name, maxNameLength)
	}
	return nil
}
