module example.com/orders-api

go 1.26

toolchain go1.26.8

require (
	github.com/google/uuid v1.6.0
	github.com/jackc/pgx/v5 v5.9.2
)
