"""Azure's actual bill: Cost Management exports read, mapped to meters and totalled per month."""
