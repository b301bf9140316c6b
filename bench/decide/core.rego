# The core rules of envelope's default policy (policy/default.yaml), in
# Rego, for the side-by-side benchmark only: GLOBAL-TARGETS,
# GLOBAL-PROCESS-VALID, JURIS-PROCESS, the US process grants,
# GLOBAL-CONTENT and the foreign basic / message-pairs rules. It decides
# the same input as envelope's engine (the parsed request as JSON); it is
# not the product's policy and is not used by it.
package envelope.core

import rego.v1

us_only := {"subpoena", "court_order_2703d", "search_warrant", "pen_register", "title_iii", "nsl", "fisa"}

non_us_only := {"foreign_court_order", "foreign_police_request"}

us_regions := {"US", "PR", "GU", "VI", "AS", "MP", "UM"}

exempt := {"emergency", "preservation"}

us_allow := {
	"subpoena": {"basic_subscriber_info"},
	"court_order_2703d": {"basic_subscriber_info", "ip_logs", "device_info", "profile", "group_info", "linked_accounts", "enforcement_history"},
	"search_warrant": {"basic_subscriber_info", "ip_logs", "device_info", "profile", "group_info", "linked_accounts", "enforcement_history", "contacts"},
	"pen_register": {"message_pairs", "ip_logs"},
	"nsl": {"basic_subscriber_info"},
}

pmp_countries := {"GB", "BR", "IN"}

country := upper(input.agency.country)

ptype := input.process.type

blocks contains "GLOBAL-TARGETS" if count(input.targets) > 25

blocks contains "GLOBAL-TARGETS" if {
	some t in input.targets
	some w in ["*", "%"]
	contains(t.value, w)
}

blocks contains "GLOBAL-PROCESS-VALID" if {
	not exempt[ptype]
	some field in ["issuing_authority", "reference", "issued_at"]
	object.get(input.process, field, "") == ""
}

blocks contains "GLOBAL-PROCESS-VALID" if {
	exp := object.get(input.process, "expires_at", "")
	exp != ""
	time.parse_rfc3339_ns(exp) < time.parse_rfc3339_ns(input.decided_at)
}

blocks contains "JURIS-PROCESS" if {
	us_only[ptype]
	not us_regions[country]
}

blocks contains "JURIS-PROCESS" if {
	non_us_only[ptype]
	us_regions[country]
}

blocks contains "US-TITLE-III" if ptype == "title_iii"

grants := us_allow[ptype] if us_only[ptype]

grants := {"basic_subscriber_info", "ip_logs", "message_pairs"} if {
	ptype == "foreign_court_order"
	pmp_countries[country]
}

grants := {"basic_subscriber_info"} if {
	non_us_only[ptype]
	not pmp_countries[country]
}

default grants := set()

allowed contains c if {
	count(blocks) == 0
	some c in input.categories
	c != "message_content"
	grants[c]
}

denied contains c if {
	some c in input.categories
	not allowed[c]
}

outcome := "reject" if count(blocks) > 0

else := "reject" if count(allowed) == 0

else := "approve" if count(denied) == 0

else := "partial"

decision := {"outcome": outcome, "allowed": allowed, "denied": denied, "blocks": blocks}
