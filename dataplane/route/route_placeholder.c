/* placeholder: replaced by route_table.c */
