from rome.cli import main

main()
