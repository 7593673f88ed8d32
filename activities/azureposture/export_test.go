package azureposture

// ISODuration is isoDuration, for the tests.
var ISODuration = isoDuration
