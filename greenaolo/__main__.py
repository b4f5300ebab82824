from greenaolo.cli import main

main()
