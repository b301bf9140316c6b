package cases

import "time"

// CheckInForce refuses (409) a case whose legal process expired before at:
// an order that was valid when logged may lapse before it is approved or
// produced, and nothing may be disclosed on a lapsed order.
func CheckInForce(c *Case, at time.Time) error {
	if e := c.Process.ExpiresAt; e != nil && !at.Before(*e) {
		return Errorf(ECONFLICT, "case %s: the %s expired on %s; nothing may be approved or produced on it (ask the agency for a renewed order)",
			c.Number, c.Process.Type, e.UTC().Format("2006-01-02 15:04 MST"))
	}
	return nil
}

// ClockSkew is how far in the future a request's received_at may be: the
// clocks of the mail server, the intake clerk's machine and envelope's
// disagree by seconds, rarely by minutes.
const ClockSkew = 5 * time.Minute

// CheckReceived refuses, as an input error on received_at, a request
// received in the future: a backdated or forward-dated receipt would move
// every deadline and expiry check computed from it.
func CheckReceived(req *Request, now time.Time) error {
	if req.ReceivedAt.After(now.Add(ClockSkew)) {
		return Invalid(map[string]string{"received_at": "is in the future (" + req.ReceivedAt.UTC().Format(time.RFC3339) +
			", now " + now.UTC().Format(time.RFC3339) + "): give the time the request actually arrived"})
	}
	return nil
}
