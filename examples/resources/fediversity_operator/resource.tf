resource "fediversity_operator" "chess_club" {
  name          = "chessclub"
  runtime       = fediversity_runtime.web1.target
  domain        = "chessclub.example.org"
  contact_email = "board@chessclub.example.org"
}
