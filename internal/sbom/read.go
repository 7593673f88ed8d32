package sbom

import (
	"bytes"
	"encoding/json"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Document reads an existing SBOM, CycloneDX JSON (any 1.x) or SPDX JSON
// (2.2, 2.3), detected from its content. Components come from package
// URLs; one without a purl is kept for the SBOM but cannot be matched.
func Document(file string, data []byte) (Inventory, error) {
	var probe struct {
		BOMFormat   string `json:"bomFormat"`
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Inventory{}, parseErrorf(file, "not a JSON SBOM: %v", err)
	}
	switch {
	case probe.BOMFormat == "CycloneDX":
		return cycloneDX(file, data)
	case strings.HasPrefix(probe.SPDXVersion, "SPDX-"):
		return spdx(file, data)
	}
	return Inventory{}, parseErrorf(file, `neither a CycloneDX JSON SBOM ("bomFormat": "CycloneDX") nor an SPDX JSON one ("spdxVersion")`)
}

func cycloneDX(file string, data []byte) (Inventory, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return Inventory{}, parseErrorf(file, "invalid CycloneDX JSON: %v", err)
	}
	var inv Inventory
	at := Location{File: file}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		m := fromPackage(bom.Metadata.Component.Name, bom.Metadata.Component.Version, bom.Metadata.Component.PackageURL, at)
		inv.Main = &m
	}
	var walk func(list *[]cdx.Component)
	walk = func(list *[]cdx.Component) {
		if list == nil {
			return
		}
		for _, c := range *list {
			inv.Add(Inventory{Components: []Component{fromPackage(c.Name, c.Version, c.PackageURL, at)}})
			walk(c.Components)
		}
	}
	walk(bom.Components)
	return inv, nil
}

// spdxDocument is the part of an SPDX 2.x JSON document that lists packages.
type spdxDocument struct {
	Name     string `json:"name"`
	Packages []struct {
		SPDXID       string `json:"SPDXID"`
		Name         string `json:"name"`
		VersionInfo  string `json:"versionInfo"`
		ExternalRefs []struct {
			Category string `json:"referenceCategory"`
			Type     string `json:"referenceType"`
			Locator  string `json:"referenceLocator"`
		} `json:"externalRefs"`
	} `json:"packages"`
	DocumentDescribes []string `json:"documentDescribes"`
	Relationships     []struct {
		Element string `json:"spdxElementId"`
		Type    string `json:"relationshipType"`
		Related string `json:"relatedSpdxElement"`
	} `json:"relationships"`
}

func spdx(file string, data []byte) (Inventory, error) {
	var doc spdxDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		return Inventory{}, parseErrorf(file, "invalid SPDX JSON: %v", err)
	}
	described := map[string]bool{}
	for _, id := range doc.DocumentDescribes {
		described[id] = true
	}
	for _, r := range doc.Relationships {
		if r.Element == "SPDXRef-DOCUMENT" && r.Type == "DESCRIBES" {
			described[r.Related] = true
		}
	}
	var inv Inventory
	at := Location{File: file}
	for _, p := range doc.Packages {
		purl := ""
		for _, ref := range p.ExternalRefs {
			if strings.EqualFold(ref.Type, "purl") {
				purl = ref.Locator
				break
			}
		}
		c := fromPackage(p.Name, p.VersionInfo, purl, at)
		if described[p.SPDXID] && inv.Main == nil {
			inv.Main = &c
			continue
		}
		inv.Add(Inventory{Components: []Component{c}})
	}
	return inv, nil
}

// fromPackage makes a component of a named package: its ecosystem and
// coordinates from its purl when it has a valid one.
func fromPackage(name, version, purl string, at Location) Component {
	if p, err := ParsePURL(purl); err == nil {
		eco, n, v := p.Coordinates()
		if v == "" {
			v = version
		}
		if eco != "" {
			c := newComponent(eco, n, v, at)
			c.PURL = purl
			c.Ref = purl
			return c
		}
		return Component{Ref: purl, Name: n, Version: v, PURL: purl, Sources: []Location{at},
			Note: "no OSV ecosystem for purl type " + p.Type}
	}
	ref := name
	if version != "" {
		ref += "@" + version
	}
	return Component{Ref: ref, Name: name, Version: version, Sources: []Location{at}, Note: "no package URL"}
}
