// Patronus.Netlink
