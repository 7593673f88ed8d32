// Command vulnfixture pins old golang.org/x modules with known
// vulnerabilities, for Shipshape's sbom-scan tests. Never run it.
package main

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/html"
	"golang.org/x/text/language"
)

func main() {
	doc, err := html.Parse(strings.NewReader("<p>hello</p>"))
	fmt.Println(doc != nil, err)
	tag, err := language.Parse("en-US")
	fmt.Println(tag, err)
	_, err = ssh.ParsePublicKey(nil)
	fmt.Println(err)
}
