from dental_etl.cli import main

main()
