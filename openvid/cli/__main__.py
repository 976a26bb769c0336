from openvid.cli import main

main()
