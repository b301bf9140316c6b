package policy

import (
	"fmt"
	"slices"

	"envelope/cases"
)

// Rule IDs of EU orders (Regulation (EU) 2023/1543), CLOUD Act orders that
// may reach a US person, and the territories of rule 5.
const (
	RuleEUAuthority    = "EU-AUTHORITY"
	RuleEUEPOC         = "EU-EPOC"
	RuleEUStoredOnly   = "EU-STORED-ONLY"
	RuleEUPreservation = "EU-PRESERVATION"
	RuleUSPerson       = "FOREIGN-US-PERSON"
)

// euSection is the file's eu_orders section.
type euSection struct {
	// MemberStates are the bound Member States from which EU orders are
	// valid (JURIS-PROCESS).
	MemberStates []string `yaml:"member_states" json:"member_states"`
	// Production (EU-EPOC): what a prosecutor's and a judge's production
	// order reach.
	Production struct {
		Prosecutor []cases.Category `yaml:"prosecutor" json:"prosecutor"`
		Judge      []cases.Category `yaml:"judge" json:"judge"`
		Explain    string           `yaml:"explain" json:"explain"`
	} `yaml:"production" json:"production"`
	// StoredOnly (EU-STORED-ONLY): the reason prospective categories are
	// denied to an EU order.
	StoredOnly string `yaml:"stored_only" json:"stored_only"`
	// PreservationDays (EU-PRESERVATION): how long an EU preservation order
	// holds from receipt.
	PreservationDays int `yaml:"preservation_days" json:"preservation_days"`
}

// euRules are the compiled EU grants.
type euRules struct {
	states                map[string]bool
	prosecutor, judge     *grantSet
	preserve              *grantSet
	storedOnly            string
	days                  int
	territories, usPerson map[string]bool
}

func (p *Policy) compileEU() {
	f := &p.file
	p.eu.territories = setOfStrings(f.Jurisdiction.USTerritories)
	if ca := f.Foreign.CloudAct; ca != nil {
		p.eu.usPerson = setOfStrings(ca.USPersonRegions)
	}
	e := f.EU
	if e == nil {
		return
	}
	p.eu.states = setOfStrings(e.MemberStates)
	p.eu.prosecutor = newGrant(RuleEUEPOC, e.Production.Prosecutor, nil, e.Production.Explain)
	p.eu.judge = newGrant(RuleEUEPOC, e.Production.Judge, nil, e.Production.Explain)
	var keep []cases.Category
	for _, c := range cases.Categories {
		if c != cases.MessageContent && c != cases.MessagePairs {
			keep = append(keep, c)
		}
	}
	p.eu.preserve = newGrant(RuleEUPreservation, keep, nil, "")
	p.eu.storedOnly, p.eu.days = e.StoredOnly, e.PreservationDays
}

func setOfStrings(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

// inUS reports whether a country is in the US for legal process: the US or
// one of its territories (rule 5).
func (p *Policy) inUS(country string) bool {
	return country == homeCountry || p.eu.territories[country]
}

// scopeEU applies EU-AUTHORITY, EU-EPOC and EU-PRESERVATION. Prospective
// categories are denied with EU-STORED-ONLY by the grant step (euDeny).
func (e *eval) scopeEU() (grants grantList, deny *grantSet) {
	eu, pr := &e.p.eu, e.req.Process
	role := pr.EffectiveRole()
	if role != cases.RoleJudge && role != cases.RoleProsecutor {
		e.find(RuleEUAuthority, cases.SeverityBlock, "an EU order of another competent authority must be validated by a judge or a prosecutor (process.validated_by), and this one is not")
		return grantList{}, nil
	}
	switch {
	case pr.Type == cases.EUPreservationOrder:
		return grantList{eu.preserve}, eu.preserve
	case role == cases.RoleJudge:
		return grantList{eu.judge}, eu.judge
	}
	return grantList{eu.prosecutor}, eu.prosecutor
}

// euStoredOnly says whether c is denied to an EU order because the
// Regulation reaches stored data only.
func (e *eval) euStoredOnly(c cases.Category) bool {
	return e.req.Process.Type.IsEUOrder() && c == cases.MessagePairs
}

// usPerson applies FOREIGN-US-PERSON (rule 8a): a CLOUD Act order naming a
// phone numbered in the US or a US territory goes to review.
func (e *eval) usPerson() {
	if e.req.Process.Via != cases.ViaCloudAct || !e.p.cloudCountries[e.req.Agency.Country] {
		return
	}
	var hits []string
	for i, t := range e.req.Targets {
		if t.Kind == cases.TargetPhone && e.p.eu.usPerson[cases.PhoneRegion(t.Value)] {
			hits = append(hits, fmt.Sprintf("targets[%d] %s", i, t.Value))
		}
	}
	if len(hits) > 0 {
		e.find(RuleUSPerson, cases.SeverityReview, "an order under a CLOUD Act agreement may not intentionally target a US person or a person in the US (18 U.S.C. 2523(b)(4)), and %s is numbered in the US or a US territory: confirm the target is not such a person", andList(hits))
	}
}

// checkEU checks the eu_orders section and the rule 5 and 8a lists.
func (c *checker) checkEU(f *file) {
	for i, cc := range f.Jurisdiction.USTerritories {
		if msg := cases.ValidCountry(cc); msg != "" {
			c.add(loc("jurisdiction", "us_territories", i), "%s", msg)
		}
	}
	if ca := f.Foreign.CloudAct; ca != nil {
		for i, cc := range ca.USPersonRegions {
			if msg := cases.ValidCountry(cc); msg != "" {
				c.add(loc("foreign", "cloud_act", "us_person_regions", i), "%s", msg)
			}
		}
	}
	eu := f.EU
	if eu == nil {
		c.add(loc("eu_orders"), "is required: it decides EU production and preservation orders")
		return
	}
	seen := map[string]bool{}
	for i, cc := range eu.MemberStates {
		at := loc("eu_orders", "member_states", i)
		switch {
		case cases.ValidCountry(cc) != "":
			c.add(at, "%s", cases.ValidCountry(cc))
		case seen[cc]:
			c.add(at, "%s is listed twice", cc)
		}
		seen[cc] = true
	}
	if len(eu.MemberStates) == 0 {
		c.add(loc("eu_orders", "member_states"), "lists no Member State, so no EU order could ever be valid")
	}
	for _, role := range []struct {
		name string
		list []cases.Category
	}{{"prosecutor", eu.Production.Prosecutor}, {"judge", eu.Production.Judge}} {
		at := loc("eu_orders", "production", role.name)
		if len(role.list) == 0 {
			c.add(at, "lists no category")
		}
		c.categories(at, role.list, false, map[cases.Category]string{})
	}
	if eu.PreservationDays <= 0 {
		c.add(loc("eu_orders", "preservation_days"), "must be a positive number of days, not %d", eu.PreservationDays)
	} else if eu.PreservationDays > 3660 {
		c.add(loc("eu_orders", "preservation_days"), "%d days is more than ten years: the number is a mistake", eu.PreservationDays)
	}
}

// normalizeEU puts the EU lists in canonical form.
func (f *file) normalizeEU() {
	sortAll(&f.Jurisdiction.EUOnly)
	slices.Sort(f.Jurisdiction.USTerritories)
	if ca := f.Foreign.CloudAct; ca != nil {
		slices.Sort(ca.USPersonRegions)
	}
	if e := f.EU; e != nil {
		slices.Sort(e.MemberStates)
		sortAll(&e.Production.Prosecutor)
		sortAll(&e.Production.Judge)
	}
}
