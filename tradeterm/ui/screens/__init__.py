"""Screens: the workstation, the bracket panel, help, confirmations and the theme picker."""
