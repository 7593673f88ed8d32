module example.com/vulnfixture

go 1.21

require (
	golang.org/x/crypto v0.0.0-20220722155217-630584e8d5aa
	golang.org/x/net v0.0.0-20220722155237-a158d28d115b
	golang.org/x/text v0.3.7
)

require golang.org/x/sys v0.0.0-20220520151302-bc2c85ada10a // indirect
