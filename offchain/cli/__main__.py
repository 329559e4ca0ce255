from offchain.cli import main

main()
