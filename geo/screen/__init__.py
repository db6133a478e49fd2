"""The big screen (数据大屏) and kiosk of issue 13 §5: screen keys bound to a scope, and what a
screen shows (counters, health distribution, top and bottom branches, upcoming activities,
service points for the camera tour), read as the leader of the key's scope would see it."""
